"""The sandbox's rate limit: a token bucket per API key, as a vendor's API limits an account.

    {"rate": 100, "burst": 100, "retry_after": 1}

    rate         requests per second each API key may make, on average (> 0, fractions allowed)
    burst        how many it may make at once after a quiet spell (default: one second's worth,
                 at least 1)
    retry_after  the Retry-After of the 429 (a string, sent as is); default: the whole seconds
                 until the next request would be allowed, at least 1

Every request to /inbound/ counts, reads included; one refused (429, nothing applied) takes no
token. Admin requests are never limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["Bucket", "RateLimit", "RateLimiter", "parse_rate_limit", "take"]

_KEYS = frozenset({"rate", "burst", "retry_after"})


class RateLimit(NamedTuple):
    rate: float
    burst: float
    retry_after: str | None = None


class Bucket(NamedTuple):
    """The tokens one key has, as of `at` (seconds on the limiter's clock)."""

    tokens: float
    at: float


def take(limit: RateLimit, bucket: Bucket | None, now: float) -> tuple[Bucket, float]:
    """The bucket after one request at `now`, and 0.0 if it may go, else the seconds until it
    could (then no token is taken)."""
    tokens = (
        limit.burst
        if bucket is None
        else min(limit.burst, bucket.tokens + (now - bucket.at) * limit.rate)
    )
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / limit.rate


def retry_after(limit: RateLimit, wait: float) -> str:
    """The Retry-After header of a refusal: as configured, else whole seconds, at least 1."""
    if limit.retry_after is not None:
        return limit.retry_after
    return str(max(1, math.ceil(wait)))


def parse_rate_limit(data: object) -> RateLimit:
    """The admin endpoint's JSON object -> RateLimit; ValueError names the bad field."""
    if not isinstance(data, dict):
        raise ValueError("rate limit: must be an object")
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        raise ValueError(f"rate limit: unknown key {unknown[0]!r}")
    rate = _positive(data.get("rate"), "rate")
    burst = _positive(data.get("burst", max(1.0, rate)), "burst")
    if burst < 1:
        raise ValueError("burst: must be at least 1")
    after = data.get("retry_after")
    if after is not None and (not isinstance(after, (str, int)) or isinstance(after, bool)):
        raise ValueError("retry_after: must be a string or an integer")
    return RateLimit(rate, burst, None if after is None else str(after))


def _positive(value: object, name: str) -> float:
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name}: must be a number greater than 0")
    return number


class RateLimiter:
    """The limit in force (None: none) and each key's bucket; shared by the server's thread
    and direct callers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limit: RateLimit | None = None
        self._buckets: dict[str, Bucket] = {}

    def set(self, limit: RateLimit | None) -> None:
        """Put `limit` in force with full buckets; None lifts it."""
        with self._lock:
            self._limit = limit
            self._buckets.clear()

    def refill(self) -> None:
        """Every bucket full again, the limit as it was."""
        with self._lock:
            self._buckets.clear()

    def check(self, key: str) -> str | None:
        """None if a request of `key` may go now, else the Retry-After of its 429."""
        with self._lock:
            limit = self._limit
            if limit is None:
                return None
            self._buckets[key], wait = take(limit, self._buckets.get(key), self._clock())
        return None if wait == 0.0 else retry_after(limit, wait)

    def describe(self) -> Mapping[str, Any] | None:
        with self._lock:
            return None if self._limit is None else self._limit._asdict()
