"""When to try a request again, and how long to wait first: pure functions over a RetryPolicy.

Reads are retried on 429, 5xx, timeouts and network failures. Writes are retried only when the
server certainly did not act: 429, or a failure before the request left this machine.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import httpx

# The request never left this machine: no connection, or none free in the pool.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The request may have reached the server: a read retries them, a write cannot know.
MAYBE_SENT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


_DELTA_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


class RetryPolicy(NamedTuple):
    """How many attempts in all, and the bounds of the waits between them (seconds).

    `patient`: a 429 is not an attempt; the client waits as long as the server keeps asking,
    for a caller that bounds the whole run (apply, with --timeout-total).
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 60.0
    patient: bool = False


def backoff_delay(policy: RetryPolicy, failed_attempt: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(failed_attempt - 1))]."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (failed_attempt - 1))
    return rng.uniform(0.0, ceiling)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # HTTP-dates are GMT by definition
    return max(0.0, (when - now).total_seconds())


def next_delay(
    policy: RetryPolicy, failed_attempt: int, retry_after: float | None, rng: random.Random
) -> float:
    """The server's Retry-After when it gave one (capped), else the jittered backoff."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    return backoff_delay(policy, failed_attempt, rng)


def status_is_retryable(status: int, *, write: bool) -> bool:
    """429 always (the server refused before acting); 5xx only for reads."""
    return status == 429 or (not write and status >= 500)


def was_not_sent(exc: httpx.HTTPError) -> bool:
    """True when the request certainly never reached the server."""
    return isinstance(exc, (*NOT_SENT, httpx.UnsupportedProtocol))


def exception_is_retryable(exc: httpx.HTTPError, *, write: bool) -> bool:
    """Pre-send failures always; timeouts and dropped connections only for reads."""
    if isinstance(exc, NOT_SENT):
        return True
    return not write and isinstance(exc, MAYBE_SENT)
