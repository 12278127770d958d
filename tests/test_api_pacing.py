"""The client and its host's pacer: a 429 pauses every request sharing the pacer, a patient client
does not count 429s as attempts, and a stop ends the wait for a turn without sending anything."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from api_support import OK_BODIES, START, WRITES, Harness, list_op, route
from inbound_sync.api import InboundClient, Pacer, PaceSettings, RetryPolicy, WaitNotice
from inbound_sync.errors import NotSent, RateLimited

OK_LIST = httpx.Response(200, json=OK_BODIES["list"])
OK_ASSIGN = httpx.Response(200, json=OK_BODIES["assign"])


def limited(seconds: str | None = None) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": seconds} if seconds is not None else {})


class Shared(Harness):
    """The harness, with a pacer of its own clock and sleep that the test can share."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.notices: list[WaitNotice] = []
        self.pacer = Pacer(
            PaceSettings(concurrency=8),
            clock=lambda: (self.now - START).total_seconds(),
            sleep=self.sleep,
        )
        self.options.update(pacer=self.pacer, on_wait=self.notices.append)

    def pause_host(self, seconds: float) -> None:
        """What another request's 429 does: a pause of the host for `seconds`."""

        async def limited_elsewhere() -> None:
            permit = await self.pacer.acquire()
            assert permit is not None
            self.pacer.release(permit, "limited", seconds)

        asyncio.run(limited_elsewhere())


def test_a_429_pauses_the_host_not_only_its_request() -> None:
    h = Shared()
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("20"), OK_LIST])
    h.run(list_op)
    assert (h.pacer.state.rate_limited, h.pacer.state.paused_s) == (1, 20.0)


def test_a_request_of_another_client_waits_out_the_pause() -> None:
    h = Shared()
    sent: list[float] = []

    def stamp(request: httpx.Request) -> httpx.Response:
        sent.append((h.now - START).total_seconds())
        return OK_ASSIGN

    route(h, "POST", "/inbound/assign").mock(side_effect=stamp)
    h.pause_host(20.0)
    h.run(WRITES[0][3])
    assert (sent, h.sleeps) == ([20.0], [20.0])


def test_a_pause_is_announced_once_by_the_request_that_began_it() -> None:
    h = Shared()
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("5"), limited("5"), OK_LIST])
    h.run(list_op)
    # The second 429 comes after the first pause is over: it begins a pause of its own.
    assert [(n.seconds, n.shared, n.asked) for n in h.notices] == [(5.0, True, True)] * 2


def test_a_patient_client_does_not_count_429s_as_attempts() -> None:
    h = Shared(retry=RetryPolicy(attempts=2, patient=True))
    route(h, "GET", "/inbound/list").mock(side_effect=[*[limited("1")] * 9, OK_LIST])
    assert h.run(list_op) == ()
    assert h.calls == 10


def test_a_client_that_is_not_patient_counts_them() -> None:
    h = Shared(retry=RetryPolicy(attempts=2))
    route(h, "GET", "/inbound/list").mock(side_effect=[*[limited("1")] * 9, OK_LIST])
    assert h.fails(list_op, RateLimited).status == 429
    assert h.calls == 2


def test_a_patient_client_still_refuses_a_retry_after_beyond_the_cap() -> None:
    h = Shared(retry=RetryPolicy(patient=True))
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("3600"), OK_LIST])
    assert "longer than the 60 s this tool waits" in str(h.fails(list_op, RateLimited))
    assert (h.calls, h.pacer.state.rate_limited) == (1, 1)


def test_a_repeated_retry_after_of_nothing_backs_off_instead_of_looping() -> None:
    h = Shared(retry=RetryPolicy(patient=True))
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("0")] * 3 + [OK_LIST])
    h.run(list_op)
    # MaxJitter: the top of each backoff, from the second 429 on.
    assert h.sleeps == [0.5, 1.0]


def test_an_unusable_retry_after_is_ignored_and_said_once() -> None:
    h = Shared(retry=RetryPolicy(patient=True))
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("-5"), limited("soon"), OK_LIST])
    h.run(list_op)
    assert [n.reason for n in h.notices] == [
        "HTTP 429 (Retry-After '-5' is not a delay or a date: ignored, backing off instead)",
        "HTTP 429",
    ]
    assert [n.asked for n in h.notices] == [False, False]
    assert h.sleeps == [0.5, 1.0]


def test_a_stop_during_the_wait_for_a_turn_sends_nothing() -> None:
    h = Shared()
    stop = asyncio.Event()
    h.options["stop"] = stop
    route(h, "POST", "/inbound/assign").mock(return_value=OK_ASSIGN)
    h.pause_host(60.0)
    stop.set()
    error = h.fails(WRITES[0][3], NotSent)
    assert str(error) == (
        "POST /inbound/assign was not sent: the run stopped while it waited for its turn"
    )
    assert (h.calls, h.sleeps) == (0, [])


def test_a_stop_after_a_429_raises_its_error() -> None:
    h = Shared()
    stop = asyncio.Event()
    h.options.update(stop=stop, on_wait=lambda notice: stop.set())
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("30"), OK_LIST])
    error = h.fails(list_op, RateLimited)
    assert str(error).endswith("; interrupted while waiting to try again")
    assert h.calls == 1


def test_a_client_without_a_pacer_has_its_own() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(side_effect=[limited("7"), OK_LIST])
    h.run(list_op)
    assert h.sleeps == [7.0]
    assert h.now == START + timedelta(seconds=7)


def test_the_pacers_rate_spaces_the_clients_requests() -> None:
    h = Harness()
    pacer = Pacer(
        PaceSettings(max_rate=2.0), clock=lambda: (h.now - START).total_seconds(), sleep=h.sleep
    )
    h.options["pacer"] = pacer
    route(h, "GET", "/inbound/list").mock(return_value=OK_LIST)

    async def three(client: InboundClient) -> None:
        for _ in range(3):
            await client.list()

    h.run(three)
    assert (h.calls, h.sleeps) == (3, [0.5, 0.5])
