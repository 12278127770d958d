"""Retries: reads retry whatever is transient; writes only what the server certainly ignored."""

from __future__ import annotations

import random
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from api_support import OK_BODIES, START, WRITES, Harness, Op, list_op, route
from inbound_sync.api import RetryPolicy
from inbound_sync.api.retry import backoff_delay, next_delay, retry_after_seconds
from inbound_sync.errors import (
    ApiError,
    ConnectionFailed,
    NotFoundError,
    OutcomeUnknown,
    RateLimited,
    ServerError,
)

OK_LIST = httpx.Response(200, json=OK_BODIES["list"])

NOT_SENT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
MAYBE_SENT = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
]
WRITE_IDS = [w[0] for w in WRITES]


def _list_harness(*answers: object, **options: object) -> Harness:
    h = Harness(**options)
    route(h, "GET", "/inbound/list").mock(side_effect=list(answers))
    return h


def _write_harness(method: str, path: str, *answers: object) -> Harness:
    h = Harness()
    route(h, method, path).mock(side_effect=list(answers))
    return h


def _ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=OK_BODIES[name])


# Reads


def test_a_read_retries_5xx_with_doubling_waits() -> None:
    h = _list_harness(httpx.Response(503), httpx.Response(500), OK_LIST)
    assert h.run(list_op) == ()
    assert h.sleeps == [0.5, 1.0]


def test_a_read_gives_up_after_five_attempts_with_a_server_error() -> None:
    h = _list_harness(*[httpx.Response(502)] * 5)
    error = h.fails(list_op, ServerError)
    assert (error.status, h.calls) == (502, 5)
    assert h.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert "after 5 attempts" in str(error)


def test_the_backoff_is_capped_by_max_delay() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=3.0)
    h = _list_harness(*[httpx.Response(500)] * 6, retry=policy)
    h.fails(list_op, ServerError)
    assert h.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_waits_are_fully_jittered_by_the_injected_rng() -> None:
    h = _list_harness(*[httpx.Response(500)] * 5, rng=random.Random(7))
    h.fails(list_op, ServerError)
    reference = random.Random(7)
    assert h.sleeps == [reference.uniform(0.0, cap) for cap in (0.5, 1.0, 2.0, 4.0)]
    assert len(set(h.sleeps)) == 4


@pytest.mark.parametrize("exc", NOT_SENT + MAYBE_SENT, ids=lambda e: e.__name__)
def test_a_read_retries_every_network_failure(exc: type[httpx.HTTPError]) -> None:
    h = _list_harness(exc("boom"), OK_LIST)
    assert h.run(list_op) == ()
    assert (h.calls, h.sleeps) == (2, [0.5])


def test_a_read_that_keeps_timing_out_fails_to_connect() -> None:
    h = _list_harness(*[httpx.ReadTimeout("timed out")] * 5)
    error = h.fails(list_op, ConnectionFailed)
    assert error.status is None
    assert "ReadTimeout: timed out (after 5 attempts)" in str(error)


def test_a_read_is_not_retried_on_a_client_error() -> None:
    h = _list_harness(httpx.Response(404), OK_LIST)
    h.fails(list_op, NotFoundError)
    assert (h.calls, h.sleeps) == (1, [])


def test_one_attempt_means_no_retry() -> None:
    h = _list_harness(httpx.Response(503), OK_LIST, retry=RetryPolicy(attempts=1))
    error = h.fails(list_op, ServerError)
    assert "after" not in str(error)
    assert h.calls == 1


def test_a_read_rate_limited_throughout_says_so() -> None:
    h = _list_harness(*[httpx.Response(429)] * 5)
    assert h.fails(list_op, RateLimited).status == 429


# Retry-After


def test_retry_after_in_seconds_is_honoured() -> None:
    h = _list_harness(httpx.Response(429, headers={"Retry-After": "7"}), OK_LIST)
    h.run(list_op)
    assert h.sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured_with_the_injected_clock() -> None:
    when = format_datetime(START + timedelta(seconds=12), usegmt=True)
    h = _list_harness(httpx.Response(429, headers={"Retry-After": when}), OK_LIST)
    h.run(list_op)
    assert h.sleeps == [12.0]


def test_retry_after_up_to_the_cap_is_honoured() -> None:
    policy = RetryPolicy(max_retry_after=20.0)
    h = _list_harness(httpx.Response(429, headers={"Retry-After": "20"}), OK_LIST, retry=policy)
    h.run(list_op)
    assert h.sleeps == [20.0]


def test_a_503_with_retry_after_on_a_read_is_honoured_too() -> None:
    h = _list_harness(httpx.Response(503, headers={"Retry-After": "3"}), OK_LIST)
    h.run(list_op)
    assert h.sleeps == [3.0]


def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    h = _list_harness(httpx.Response(429, headers={"Retry-After": "soon"}), OK_LIST)
    h.run(list_op)
    assert h.sleeps == [0.5]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Wed, 18 Mar 2026 11:31:00 GMT", 60.0),
        ("Wed, 18 Mar 2026 11:00:00 GMT", 0.0),  # in the past: go now
        ("-5", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, START) == seconds


def test_backoff_grows_from_the_base_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.25, max_delay=1.0)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [backoff_delay(policy, n, Top()) for n in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 1.0]
    assert next_delay(policy, 1, 90.0, Top()) == 60.0


# Writes


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_write_is_retried_after_429(name: str, method: str, path: str, op: Op) -> None:
    h = _write_harness(method, path, httpx.Response(429, headers={"Retry-After": "2"}), _ok(name))
    h.run(op)
    assert (h.calls, h.sleeps) == (2, [2.0])


@pytest.mark.parametrize("exc", NOT_SENT, ids=lambda e: e.__name__)
@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_write_is_retried_when_it_was_never_sent(
    name: str, method: str, path: str, op: Op, exc: type[httpx.HTTPError]
) -> None:
    h = _write_harness(method, path, exc("no route to host"), _ok(name))
    h.run(op)
    assert (h.calls, h.sleeps) == (2, [0.5])


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_5xx_write_is_unknown_at_once(
    name: str, method: str, path: str, op: Op, status: int
) -> None:
    h = _write_harness(method, path, httpx.Response(status), _ok(name))
    error = h.fails(op, OutcomeUnknown)
    assert (error.status, error.operation, error.reason) == (
        status,
        f"{method} {path}",
        "server error",
    )
    assert (h.calls, h.sleeps) == (1, [])


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: e.__name__)
@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_write_that_may_have_been_sent_is_unknown_at_once(
    name: str, method: str, path: str, op: Op, exc: type[httpx.HTTPError]
) -> None:
    h = _write_harness(method, path, exc("connection lost"), _ok(name))
    error = h.fails(op, OutcomeUnknown)
    assert error.status is None
    assert error.reason == f"{exc.__name__}: connection lost"
    assert "may or may not have been applied" in str(error)
    assert (h.calls, h.sleeps) == (1, [])


def test_a_write_keeps_the_servers_word_when_unknown() -> None:
    h = _write_harness("POST", "/inbound/assign", httpx.Response(500, json={"detail": "db down"}))
    assert h.fails(WRITES[0][3], OutcomeUnknown).reason == "db down"


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_write_rate_limited_throughout_was_certainly_not_applied(
    name: str, method: str, path: str, op: Op
) -> None:
    h = _write_harness(method, path, *[httpx.Response(429)] * 5)
    error = h.fails(op, RateLimited)
    assert not isinstance(error, OutcomeUnknown)
    assert error.status == 429
    assert "the change was not applied" in str(error)
    assert h.calls == 5


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=WRITE_IDS)
def test_a_write_that_never_connected_was_certainly_not_applied(
    name: str, method: str, path: str, op: Op
) -> None:
    h = _write_harness(method, path, *[httpx.ConnectError("refused")] * 5)
    error = h.fails(op, ConnectionFailed)
    assert not isinstance(error, OutcomeUnknown)
    assert "never reached the server, so nothing changed" in str(error)
    assert h.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_a_write_retried_after_429_then_hitting_a_5xx_is_unknown() -> None:
    h = _write_harness("POST", "/inbound/assign", httpx.Response(429), httpx.Response(502))
    assert h.fails(WRITES[0][3], OutcomeUnknown).status == 502
    assert h.calls == 2


def test_a_write_with_a_bad_url_scheme_was_not_sent() -> None:
    h = _write_harness("POST", "/inbound/assign", httpx.UnsupportedProtocol("no scheme"))
    error = h.fails(WRITES[0][3], ApiError)
    assert type(error) is ConnectionFailed
    assert h.calls == 1


def test_an_unclassified_transport_failure_of_a_write_is_unknown() -> None:
    h = _write_harness("DELETE", "/inbound/delete/m-1", httpx.ProxyError("proxy hung up"))
    h.fails(WRITES[3][3], OutcomeUnknown)
    assert h.calls == 1
