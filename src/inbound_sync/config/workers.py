"""Reading a large config on every core: YAML files and numbers are parsed in worker processes.

Most of a large plan's time is spent parsing: PyYAML's constructor and phonenumbers are pure
Python, and one process uses one core. Files do not depend on one another, nor do numbers once
the default region is known, so a config big enough to be worth it is parsed by a pool of forked
processes. Each worker reads a file, validates it and normalizes its numbers, and sends back only
what resolving needs (never the YAML tree): this process, which merges and resolves, then has
little left to do. Results come back in input order, so what load() returns or reports, issues
and their order included, is what one process would have found.

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
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from inbound_sync.config.resolve import Entry, ParsedFile, validate_document
from inbound_sync.config.source import read_yaml
from inbound_sync.errors import ConfigIssue
from inbound_sync.phone import (
    DEFAULT_REGION,
    Batch,
    Fields,
    PhoneError,
    PhoneNumber,
    Request,
    adopt,
    normalize_each,
    normalize_many,
)

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

Checked = tuple[ParsedFile | None, list[ConfigIssue]]
"""One file read and validated on its own: what resolve needs of it, and the issues found."""

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

    def read(self, files: Sequence[Path]) -> Iterator[Checked]:
        """read_and_check of each file, in order, each as soon as it is done."""
        done = 0
        if self._executor is not None and len(files) > 1:
            from concurrent.futures.process import BrokenProcessPool

            try:
                for sent in self._executor.map(read_check_normalize, files):
                    done += 1
                    yield self._received(sent)
            except BrokenProcessPool:
                self._executor = None  # as in map(): the rest is read here
        for path in files[done:]:
            yield read_and_check(path)

    def normalize_all(self, requests: list[Request]) -> list[PhoneNumber | PhoneError]:
        """normalize() of every request, in order, errors in their places."""
        if not self._found:  # nothing from the workers to look up: spare a lookup per number
            return self._normalized(requests)
        known = [self._lookup(request) for request in requests]
        missing = [
            request for request, result in zip(requests, known, strict=True) if result is None
        ]
        computed = iter(self._normalized(missing))
        return [next(computed) if result is None else result for result in known]

    def _normalized(self, requests: list[Request]) -> list[PhoneNumber | PhoneError]:
        if self._executor is None or len(requests) < 2:
            return normalize_each(requests)
        size = max(1, -(-len(requests) // (self.workers * 4)))
        chunks = [requests[i : i + size] for i in range(0, len(requests), size)]
        results: list[PhoneNumber | PhoneError] = []
        for chunk, batch in zip(chunks, self.map(normalize_many, chunks), strict=True):
            self._remember(chunk, batch)
            results.extend(batch.results)
        return results

    def _remember(self, requests: Sequence[Request], batch: Batch) -> None:
        adopt(batch)
        for (text, _, allow), result in zip(requests, batch.results, strict=True):
            if text.startswith("+") and isinstance(result, PhoneNumber):
                self._international[text, allow] = result
        self._found.update(zip(requests, batch.results, strict=True))

    def _received(self, sent: Sent) -> Checked:
        """A worker's file as read here, its numbers remembered for normalize_all."""
        if sent.parsed is None:
            return None, sent.issues
        entries = tuple(map(Entry._make, zip(*sent.entries, strict=True)))
        requests = [(e.number, e.region or sent.region, e.allow_unverified) for e in entries]
        results = [PhoneNumber(k, "+" + k) if isinstance(k, str) else k for k in sent.phones]
        self._remember(requests, Batch(results, sent.unverified, sent.parsed_numbers))
        return sent.parsed._replace(entries=entries), sent.issues

    def _lookup(self, request: Request) -> PhoneNumber | PhoneError | None:
        text, _, allow = request
        found = self._found.get(request)
        if found is None and text.startswith("+"):
            return self._international.get((text, allow))
        return found


def read_and_check(path: Path) -> Checked:
    """Read one file and validate it on its own."""
    return validate_document(read_yaml(path))


class Sent(NamedTuple):
    """What a worker sends back for one file, in a few lists rather than an object per number:
    pickling 100,000 records, and making each again here, costs more than filling lists."""

    parsed: ParsedFile | None
    """The file's settings; its entries are in `entries`."""
    issues: list[ConfigIssue]
    entries: tuple[list[Any], ...]
    """A list per field of Entry, each with a value per entry."""
    region: str
    """The default region the numbers were normalized under."""
    phones: list[str | PhoneError]
    """Per entry, its normalized number or why it has none (its E.164 text is "+" and it)."""
    unverified: set[str]
    parsed_numbers: dict[str, Fields]
    """The Batch.parsed of the numbers, for adopt()."""


def read_check_normalize(path: Path) -> Sent:
    """read_and_check, and normalize_many of the file's numbers (run in a worker)."""
    parsed, issues = read_and_check(path)
    if parsed is None:
        return Sent(None, issues, (), DEFAULT_REGION, [], set(), {})
    defaults = parsed.model.defaults
    region = defaults.region if defaults is not None else DEFAULT_REGION
    requests = [(e.number, e.region or region, e.allow_unverified) for e in parsed.entries]
    batch = normalize_many(requests)
    # Names repeat from entry to entry: one string each, and pickle writes each once.
    columns = tuple(
        [sys.intern(v) if isinstance(v, str) else v for v in column] if field in _NAMES else column
        for field, column in zip(Entry._fields, _columns(parsed.entries), strict=True)
    )
    phones = [r.normalized if isinstance(r, PhoneNumber) else r for r in batch.results]
    return Sent(
        parsed._replace(entries=()), issues, columns, region, phones, batch.unverified, batch.parsed
    )


_NAMES = frozenset({"assistant", "strategy", "ensure", "region"})


def _columns(entries: Sequence[Entry]) -> list[list[Any]]:
    return [list(column) for column in zip(*entries, strict=True)] or [[] for _ in Entry._fields]


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
