"""What the client reports to its hooks: one RequestRecord per HTTP attempt, one WaitNotice per
wait between attempts, and the lines that show them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Literal, NamedTuple, TextIO

Outcome = Literal["ok", "retry", "error", "unknown"]

request_tag: ContextVar[Mapping[str, str]] = ContextVar("request_tag", default=MappingProxyType({}))


class RequestRecord(NamedTuple):
    """One HTTP attempt, as reported to the `on_request` hook."""

    time: str
    method: str
    path: str
    status: int | None
    attempt: int
    duration_s: float
    outcome: Outcome
    error: str | None
    tag: Mapping[str, str]


RequestHook = Callable[[RequestRecord], None]


class WaitNotice(NamedTuple):
    """A wait before the next attempt, as announced to the `on_wait` hook when it starts."""

    seconds: float
    operation: str
    reason: str
    # True when the server asked for it (Retry-After), False for the client's own backoff.
    asked: bool
    attempt: int
    tag: Mapping[str, str]
    # True for a 429's pause, which holds every request to the host, not this one alone.
    shared: bool = False


WaitHook = Callable[[WaitNotice], None]


def iso_time(moment: datetime) -> str:
    """'2026-03-18T11:30:00.000Z'."""
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def format_record(record: RequestRecord) -> str:
    """'PATCH /inbound/update/9c2a -> 503 in 0.004s (attempt 1); retry: HTTP 503 [k=v]'."""
    status = str(record.status) if record.status is not None else "no response"
    line = f"{record.method} {record.path} -> {status} in {record.duration_s:.3f}s"
    line += f" (attempt {record.attempt})"
    if record.outcome != "ok":
        line += f"; {record.outcome}" + (f": {record.error}" if record.error else "")
    if record.tag:
        line += " [" + " ".join(f"{k}={v}" for k, v in record.tag.items()) + "]"
    return line


def verbose_logger(stream: TextIO) -> RequestHook:
    """A hook that writes one line per HTTP attempt to `stream` (stderr for --verbose)."""

    def log(record: RequestRecord) -> None:
        stream.write(format_record(record) + "\n")

    return log


def format_wait(notice: WaitNotice) -> str:
    """'waiting 3 s before retrying list the account: HTTP 503'."""
    asked = ", as the server asked," if notice.asked else ""
    why = f": {notice.reason}" if notice.reason else ""
    return f"waiting {_seconds(notice.seconds)} s{asked} before retrying {notice.operation}{why}"


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"
