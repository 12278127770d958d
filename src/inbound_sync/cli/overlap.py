"""Reading the account while the config is parsed: a read changes nothing.

    load_while_reading(load, read)   load(ready) runs here; read() runs in a thread of its own,
                                     from the moment load calls ready(), with its own event loop;
                                     then the read's result (or its error) when asked for

On a large config the two take about as long as each other (10,000 numbers: about a second to
parse, most of one to list), and the list call spends most of its time waiting for the server.

The thread starts only when the config loader calls ready(): it forks its worker processes
first, since a fork copies only the calling thread (see config.workers). The config's errors
come first, as they did when the account was read after it: when load raises, the read is
cancelled and whatever it found is dropped. So a bad config may cost a read, never a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

D = TypeVar("D")
S = TypeVar("S")

CANCEL_WAIT_S = 5.0
"""How long a cancelled read may take to close its connection before the run goes on without
waiting for it (its thread is a daemon: it never keeps the process alive)."""


class Reader(Generic[S]):
    """A coroutine run to its end in a thread of its own, or cancelled from another thread."""

    def __init__(self, read: Callable[[], Coroutine[Any, Any, S]]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._cancelled = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The result leaves through `_found`, not as the task's result, as in run_async.
        self._found: list[S] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="inbound-sync-read", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        """Start the read, once; later calls do nothing."""
        if not self.started:
            self._thread.start()

    def join(self) -> None:
        """Wait for the read to end (Ctrl-C ends the wait)."""
        self.start()
        self._thread.join()

    def result(self) -> S:
        """What the read returned, or its exception raised here; after join()."""
        if self._error is not None:
            raise self._error
        return self._found[0]

    def cancel(self) -> None:
        """Stop the read where it is, and wait a little for its connection to close."""
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None:
                with contextlib.suppress(RuntimeError):  # its loop is closed: the read ended
                    self._loop.call_soon_threadsafe(self._task.cancel)
        if self.started:
            self._thread.join(CANCEL_WAIT_S)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed over to the thread that asks for the result
            self._error = exc

    async def _main(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        self._found.append(await self._read())


def load_while_reading(
    load: Callable[[Callable[[], None]], D], read: Callable[[], Coroutine[Any, Any, S]]
) -> tuple[D, Reader[S]]:
    """load(ready) here, and read() in a thread from the moment load calls ready().

    Returns what load returned and the finished read, whose result() gives what it found or
    raises its error, when the caller is ready for it. An error of load (or Ctrl-C) cancels the
    read and is raised, whatever the read found.
    """
    reader = Reader(read)
    try:
        loaded = load(reader.start)
        reader.join()
    except BaseException:
        reader.cancel()
        raise
    return loaded, reader
