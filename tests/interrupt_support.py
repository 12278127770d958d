"""A CLI run as a child process, its output read as it comes, for the tests that signal it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from reliability_support import ACME_KEY

WAIT = 20.0  # seconds; a bound on every wait, never reached when things work


class Output:
    """Collects what a pipe carries, from a background thread, so a test can wait for text."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while chunk := os.read(self._fd, 4096):
            with self._lock:
                self._chunks.append(chunk.decode("utf-8", "replace"))

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._chunks)

    def wait_for(self, pattern: str) -> None:
        deadline = time.monotonic() + WAIT
        while not re.search(pattern, self.text, re.MULTILINE):
            assert time.monotonic() < deadline, f"no {pattern!r} in: {self.text}"
            time.sleep(0.01)

    def close(self) -> str:
        self._thread.join(WAIT)
        return self.text


class Cli:
    """`python -m inbound_sync ...` as a child process, its output read as it comes."""

    def __init__(
        self,
        argv: list[str],
        url: str,
        cwd: Path,
        stdin: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = {
            **os.environ,
            "INBOUND_SYNC_API_URL": url,
            "INBOUND_SYNC_API_KEY": ACME_KEY,
            "NO_COLOR": "1",
            **(env or {}),
        }
        env.pop("GITHUB_STEP_SUMMARY", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inbound_sync", *argv],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.out = Output(self.process.stdout.fileno())
        self.err = Output(self.process.stderr.fileno())

    def interrupt(self, signum: int = signal.SIGINT) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        return self.finish()

    def finish(self) -> tuple[int, str, str]:
        code = self.process.wait(WAIT)
        out, err = self.out.close(), self.err.close()
        self.process.stdout.close()  # type: ignore[union-attr]
        self.process.stderr.close()  # type: ignore[union-attr]
        return code, out, err


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
