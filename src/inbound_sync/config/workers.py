"""Reading a large config on every core: YAML files and numbers are parsed in worker processes.

Most of a large plan's time is spent parsing: PyYAML's constructor and phonenumbers are pure
Python, and one process uses one core. Files do not depend on one another, nor do numbers once
the default region is known, so a config big enough to be worth it is parsed by a pool of forked
processes. Results come back in input order, so what load() returns or reports, issues and their
order included, is what one process would have found.

Forking is used only where it is safe and cheap: on Linux, in a process that runs no other
thread (a fork copies only the calling thread, and a lock held by another one would stay held).
Elsewhere, and for small configs, everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from inbound_sync.phone import PhoneError, PhoneNumber, Request, adopt, normalize_many

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
    """Maps a function over items: across worker processes when it has them, else here."""

    def __init__(self, executor: ProcessPoolExecutor | None, workers: int) -> None:
        self._executor = executor
        self.workers = workers

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self._executor is not None and len(items) > 1:
            try:
                return list(self._executor.map(function, items))
            except BrokenProcessPool:
                # A worker died (the machine ran out of memory, say): finish here instead.
                self._executor = None
        return [function(item) for item in items]

    def normalize_all(self, requests: list[Request]) -> list[PhoneNumber | PhoneError]:
        """normalize_many over every request, in a few chunks per worker; returns in order."""
        size = max(1, -(-len(requests) // (self.workers * 4)))
        chunks = [requests[i : i + size] for i in range(0, len(requests), size)]
        results: list[PhoneNumber | PhoneError] = []
        for batch in self.map(normalize_many, chunks):
            adopt(batch)
            results.extend(batch.results)
        return results


@contextmanager
def pool(files: Sequence[Path], requested: int | None = None) -> Iterator[Pool]:
    """A Pool sized for `files`; `requested` overrides the size where forking is allowed."""
    count = worker_count(
        requested,
        total_bytes=sum(_size(path) for path in files),
        cpus=_cpus(),
        threads=threading.active_count(),
        can_fork=sys.platform.startswith("linux"),
    )
    if count < 2:
        yield Pool(None, 1)
        return
    # Whatever this process has buffered must not be written again by each child.
    sys.stdout.flush()
    sys.stderr.flush()
    executor = ProcessPoolExecutor(
        count, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
    )
    try:
        yield Pool(executor, count)
    except BaseException:
        # Ctrl-C or an error: drop the queued work rather than wait for it.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()


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
