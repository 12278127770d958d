"""The sandbox's rate limit: a token bucket per API key, answering 429 with Retry-After and
applying nothing, set from the admin endpoint, create_app or `sandbox serve --rate-limit`."""

from __future__ import annotations

import pytest

from inbound_sync.sandbox.ratelimit import (
    Bucket,
    RateLimit,
    RateLimiter,
    parse_rate_limit,
    retry_after,
    take,
)
from sandbox_fixtures import (
    ACME,
    GLOBEX,
    admin,
    assign_body,
    call,
    controller,
    error,
    sandbox_app,
)

# The bucket, on a clock the test moves


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_burst_through_then_refuses() -> None:
    limit = RateLimit(rate=2.0, burst=3.0)
    bucket = None
    waits = []
    for _ in range(4):
        bucket, wait = take(limit, bucket, 0.0)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 0.5]


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    limit = RateLimit(rate=2.0, burst=3.0)
    assert take(limit, Bucket(0.0, 0.0), 0.5) == (Bucket(0.0, 0.5), 0.0)
    assert take(limit, Bucket(0.0, 0.0), 60.0) == (Bucket(2.0, 60.0), 0.0)


def test_a_refused_request_takes_no_token() -> None:
    limit = RateLimit(rate=1.0, burst=1.0)
    bucket, wait = take(limit, Bucket(0.25, 0.0), 0.0)
    assert (bucket.tokens, wait) == (0.25, 0.75)


@pytest.mark.parametrize(
    ("limit", "wait", "header"),
    [
        (RateLimit(100.0, 100.0), 0.01, "1"),
        (RateLimit(0.1, 1.0), 7.2, "8"),
        (
            RateLimit(0.1, 1.0, "Wed, 18 Mar 2026 11:31:00 GMT"),
            7.2,
            "Wed, 18 Mar 2026 11:31:00 GMT",
        ),
    ],
)
def test_retry_after_is_whole_seconds_until_a_token_unless_set(
    limit: RateLimit, wait: float, header: str
) -> None:
    assert retry_after(limit, wait) == header


def test_each_key_has_its_own_bucket_and_a_new_limit_refills_them() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.check(ACME) is None
    limiter.set(RateLimit(rate=1.0, burst=1.0))
    assert [limiter.check(ACME), limiter.check(ACME), limiter.check(GLOBEX)] == [None, "1", None]
    clock.now += 1.0
    assert limiter.check(ACME) is None
    limiter.refill()
    assert limiter.check(GLOBEX) is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "rate: must be a number greater than 0"),
        ({"rate": 0}, "rate: must be a number greater than 0"),
        ({"rate": -1}, "rate: must be a number greater than 0"),
        ({"rate": float("nan")}, "rate: must be a number greater than 0"),
        ({"rate": True}, "rate: must be a number greater than 0"),
        ({"rate": "5"}, "rate: must be a number greater than 0"),
        ({"rate": 5, "burst": 0.5}, "burst: must be at least 1"),
        ({"rate": 5, "retry_after": [1]}, "retry_after: must be a string or an integer"),
        ({"rate": 5, "per": "minute"}, "rate limit: unknown key 'per'"),
        ([5], "rate limit: must be an object"),
    ],
)
def test_a_bad_limit_names_its_field(data: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_rate_limit(data)


def test_the_burst_defaults_to_one_seconds_worth_and_at_least_one() -> None:
    assert parse_rate_limit({"rate": 50}) == RateLimit(50.0, 50.0)
    assert parse_rate_limit({"rate": 0.5, "retry_after": 3}) == RateLimit(0.5, 1.0, "3")


# Through the app


def test_a_limited_request_is_answered_429_and_not_applied() -> None:
    with sandbox_app(rate_limit={"rate": 1, "burst": 1}) as app:
        assert call(app, "GET", "/inbound/list").status_code == 200
        refused = call(app, "POST", "/inbound/assign", json=assign_body("+918044319250"))
        assert "rate limit" in error(refused, 429)
        assert refused.headers["Retry-After"] == "1"
        stats = controller(app).stats()
    assert stats["writes"] == 0
    assert stats["rate_limited"] == {"POST /inbound/assign": 1}
    assert stats["rate_limit"] == {"rate": 1.0, "burst": 1.0, "retry_after": None}


def test_the_admin_endpoint_sets_and_lifts_the_limit() -> None:
    with sandbox_app() as app:
        response = admin(app, "POST", "/_sandbox/rate-limit", {"rate": 1, "retry_after": "30"})
        assert response.json()["data"] == {"rate": 1.0, "burst": 1.0, "retry_after": "30"}
        call(app, "GET", "/inbound/list")
        refused = call(app, "GET", "/inbound/list")
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "30")
        assert admin(app, "DELETE", "/_sandbox/rate-limit").status_code == 200
        assert call(app, "GET", "/inbound/list").status_code == 200


def test_a_bad_limit_is_a_400_and_changes_nothing() -> None:
    with sandbox_app() as app:
        answer = admin(app, "POST", "/_sandbox/rate-limit", {"rate": 0})
        assert error(answer, 400) == "Invalid rate limit: rate: must be a number greater than 0"
        assert controller(app).stats()["rate_limit"] is None


def test_admin_requests_are_never_limited() -> None:
    with sandbox_app(rate_limit={"rate": 1, "burst": 1}) as app:
        assert [admin(app, "GET", "/_sandbox/stats").status_code for _ in range(3)] == [200] * 3


def test_a_reset_refills_the_buckets_and_keeps_the_limit() -> None:
    with sandbox_app(rate_limit={"rate": 1, "burst": 1}) as app:
        call(app, "GET", "/inbound/list")
        assert call(app, "GET", "/inbound/list").status_code == 429
        controller(app).reset()
        assert call(app, "GET", "/inbound/list").status_code == 200
        assert call(app, "GET", "/inbound/list").status_code == 429
