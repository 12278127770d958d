"""Reading a large config on every core: YAML files and numbers are parsed in worker processes.

Most of a large plan's time is spent parsing: PyYAML's constructor and phonenumbers are pure
Python, and one process uses one core. Files do not depend on one another, nor do numbers once
the default region is known, so a config big enough to be worth it is parsed by a pool of forked
processes. Results come back in input order, so what load() returns or reports, issues and their
order included, is what one process would have found.

Forking is used only where it is safe and cheap: on Linux, in a process that runs no other
thread (a fork copies only the calling thread, and a lock held by another one would stay held).
Elsewhere, and for small configs, everything runs in this process. A caller that has work for a
thread while the config is parsed (reading the account) starts it from pool's on_ready, which is
called once every worker is forked.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from inbound_sync.config.source import YamlDocument, read_yaml
from inbound_sync.phone import (
    DEFAULT_REGION,
    Batch,
    PhoneError,
    PhoneNumber,
    Request,
    adopt,
    normalize_many,
)

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

MIN_BYTES = 256 * 1024
"""Below this much YAML (about 2,500 numbers), starting processes costs more than it saves."""

MAX_WORKERS = 4


def worker_count(
    requested: int | None, *, total_bytes: int, cpus: int, threads: int, can_fork: bool
) -> int:
    """How many processes parse the config; 1 means this process alone."""
    if not can_fork or threads > 1:
        return 1
    if requested is not None:
        return requested
    if total_bytes < MIN_BYTES:
        return 1
    return max(1, min(cpus, MAX_WORKERS))


class Pool:
    """Maps work over items: across worker processes when it has them, else here.

    With workers, each file's numbers are normalized where the file is read, under the default
    region the file itself gives (or the tool's default); normalize_all then finds those results
    and computes only the rest. A wrong guess costs time, never correctness: a result is reused
    only for the very request it answers, or, for a number in international form that parsed,
    whatever the region (the region does not change what such a number is).
    """

    def __init__(self, executor: ProcessPoolExecutor | None, workers: int) -> None:
        self._executor = executor
        self.workers = workers
        self._found: dict[Request, PhoneNumber | PhoneError] = {}
        self._international: dict[tuple[str, bool], PhoneNumber] = {}

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self._executor is not None and len(items) > 1:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return list(self._executor.map(function, items))
            except BrokenProcessPool:
                # A worker died (the machine ran out of memory, say): finish here instead.
                self._executor = None
        return [function(item) for item in items]

    def read(self, files: Sequence[Path]) -> Iterator[YamlDocument]:
        """read_yaml of each file, in order, each as soon as it is read (so that the caller
        validates one file while the workers still read the next ones)."""
        done = 0
        if self._executor is not None and len(files) > 1:
            from concurrent.futures.process import BrokenProcessPool

            try:
                for document, requests, batch in self._executor.map(read_and_normalize, files):
                    self._remember(requests, batch)
                    done += 1
                    yield document
            except BrokenProcessPool:
                self._executor = None  # as in map(): the rest is read here
        for path in files[done:]:
            yield read_yaml(path)

    def normalize_all(self, requests: list[Request]) -> list[PhoneNumber | PhoneError]:
        """normalize() of every request, in order, errors in their places."""
        known = [self._lookup(request) for request in requests]
        missing = [
            request for request, result in zip(requests, known, strict=True) if result is None
        ]
        size = max(1, -(-len(missing) // (self.workers * 4)))
        chunks = [missing[i : i + size] for i in range(0, len(missing), size)]
        for chunk, batch in zip(chunks, self.map(normalize_many, chunks), strict=True):
            self._remember(chunk, batch)
        return [self._found[r] if k is None else k for r, k in zip(requests, known, strict=True)]

    def _remember(self, requests: Sequence[Request], batch: Batch) -> None:
        adopt(batch)
        for (text, _, allow), result in zip(requests, batch.results, strict=True):
            if text.startswith("+") and isinstance(result, PhoneNumber):
                self._international[text, allow] = result
        self._found.update(zip(requests, batch.results, strict=True))

    def _lookup(self, request: Request) -> PhoneNumber | PhoneError | None:
        text, _, allow = request
        found = self._found.get(request)
        if found is None and text.startswith("+"):
            return self._international.get((text, allow))
        return found


def read_and_normalize(path: Path) -> tuple[YamlDocument, list[Request], Batch]:
    """read_yaml, and normalize_many of the numbers the file seems to declare (run in a worker)."""
    document = read_yaml(path)
    requests = _declared(document.data)
    return document, requests, normalize_many(requests)


def _declared(data: object) -> list[Request]:
    """The numbers of a file not validated yet, each with the default region the file gives."""
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), list):
        return []
    defaults = data.get("defaults")
    region = defaults.get("region") if isinstance(defaults, dict) else None
    region = region if isinstance(region, str) else DEFAULT_REGION
    requests = []
    for entry in data["numbers"]:
        if not isinstance(entry, dict):
            continue
        text, own, allow = entry.get("number"), entry.get("region"), entry.get("allow_unverified")
        if isinstance(text, str) and isinstance(own, (str, type(None))):
            requests.append((text, own or region, allow is True))
    return requests


Ready = Callable[[], None]
"""Called once a pool has every process it will have: from then on, threads may start."""


@contextmanager
def pool(
    files: Sequence[Path], requested: int | None = None, on_ready: Ready | None = None
) -> Iterator[Pool]:
    """A Pool sized for `files`; `requested` overrides the size where forking is allowed.

    `on_ready` is called before the pool is used, once its workers are forked (or when it has
    none): from then on nothing forks, and the caller may start a thread (a read of the account).
    """
    count = worker_count(
        requested,
        total_bytes=sum(_size(path) for path in files),
        cpus=_cpus(),
        threads=threading.active_count(),
        can_fork=sys.platform.startswith("linux"),
    )
    if count < 2:
        if on_ready is not None:
            on_ready()
        yield Pool(None, 1)
        return
    # Imported here: a small config never pays for them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Whatever this process has buffered must not be written again by each child.
    sys.stdout.flush()
    sys.stderr.flush()
    executor = ProcessPoolExecutor(
        count, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
    )
    try:
        if on_ready is not None:
            _fork_workers(executor)
            on_ready()
        yield Pool(executor, count)
    except BaseException:
        # Ctrl-C or an error: drop the queued work rather than wait for it.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()


def _fork_workers(executor: ProcessPoolExecutor) -> None:
    """Fork every worker now, while this process runs no other thread.

    With the fork start method, an executor forks all its workers at its first submit, before it
    starts its own thread (CPython 3.10.5 and later); it never forks again, since it does not
    replace workers.
    """
    executor.submit(os.getpid)


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_yaml reports it


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
