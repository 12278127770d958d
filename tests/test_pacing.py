"""The pacer of an API host: a token bucket, a pause for every request on a 429, and a window of
requests in flight that halves on a 429 and grows back by one per window of successes.

The pure functions are driven by hand with the time as an argument; the async Pacer runs on a
fake clock whose sleeps advance it, so that no test waits or measures time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from inbound_sync.api.pacing import (
    MIN_RATE,
    RATE_STEP,
    Pacer,
    Pacers,
    PaceSettings,
    PaceState,
    PauseEvent,
    Permit,
    admit,
    capped,
    finish,
    host_of,
    initial,
    pause_left,
)

T = TypeVar("T")


def go(state: PaceState, settings: PaceSettings, now: float) -> tuple[PaceState, Permit]:
    admission = admit(state, settings, now)
    assert admission.permit is not None, admission
    return admission.state, admission.permit


def ok(
    state: PaceState, settings: PaceSettings, now: float, n: int = 1, took: float = 0.0
) -> PaceState:
    """`n` requests one after the other from `now`, each answered successfully after `took`."""
    for k in range(n):
        state, permit = go(state, settings, now + k * took)
        state, _ = finish(state, settings, permit, now + (k + 1) * took, "ok")
    return state


# The token bucket


def test_max_rate_spaces_every_request_by_one_over_the_rate() -> None:
    settings = PaceSettings(max_rate=2.0, concurrency=8)
    state = initial(settings)
    starts = []
    for _ in range(3):
        state, permit = go(state, settings, 10.0)
        starts.append(permit.start_at)
    assert starts == [10.0, 10.5, 11.0]


def test_a_request_after_a_quiet_spell_starts_at_once() -> None:
    settings = PaceSettings(max_rate=2.0)
    state, _ = go(initial(settings), settings, 0.0)
    state, permit = go(state, settings, 5.0)
    assert permit.start_at == 5.0


def test_without_a_rate_nothing_waits() -> None:
    settings = PaceSettings()
    state = initial(settings)
    for _ in range(8):
        state, permit = go(state, settings, 3.0)
        assert permit.start_at == 3.0


# The window of requests in flight


def test_the_window_bounds_the_requests_in_flight() -> None:
    settings = PaceSettings(concurrency=2)
    state, _ = go(initial(settings), settings, 0.0)
    state, _ = go(state, settings, 0.0)
    assert admit(state, settings, 0.0).reason == "slot"


def test_a_429_halves_the_window_once_per_round() -> None:
    settings = PaceSettings(concurrency=8)
    state = initial(settings)
    permits = []
    for _ in range(3):
        state, permit = go(state, settings, 0.0)
        permits.append(permit)
    for permit in permits:
        state, _ = finish(state, settings, permit, 0.0, "limited", 1.0)
    # Three 429s answered to requests of the same round: one decrease, three counted.
    assert (state.window, state.rate_limited, state.epoch) == (4.0, 3, 1)


def test_the_window_grows_by_one_per_window_of_successes_up_to_the_concurrency() -> None:
    settings = PaceSettings(concurrency=4)
    state = initial(settings)._replace(window=2.0)
    state = ok(state, settings, 0.0, 2)
    assert state.window == pytest.approx(2 + 1 / 2 + 1 / 2.5)
    state = ok(state, settings, 0.0, 100)
    assert state.window == 4.0


def test_the_window_never_falls_below_one() -> None:
    settings = PaceSettings(concurrency=1)
    state, permit = go(initial(settings), settings, 0.0)
    state, _ = finish(state, settings, permit, 0.0, "limited", 1.0)
    assert state.window == 1.0
    assert pause_left(state, 1.0).reason == "go"
    assert admit(state, settings, 1.0).permit is not None


# The pause


def test_a_429_pauses_every_request_until_its_retry_after() -> None:
    settings = PaceSettings()
    state, permit = go(initial(settings), settings, 10.0)
    state, longer = finish(state, settings, permit, 10.0, "limited", 3.0)
    assert longer
    waiting = admit(state, settings, 11.0)
    assert (waiting.permit, waiting.reason, waiting.wait) == (None, "pause", 2.0)
    after = admit(state, settings, 13.0)
    assert after.permit is not None
    assert after.resumed == 3.0


def test_one_who_slept_through_the_pause_goes_even_if_the_clock_lags() -> None:
    settings = PaceSettings()
    state, permit = go(initial(settings), settings, 10.0)
    state, _ = finish(state, settings, permit, 10.0, "limited", 3.0)
    assert admit(state, settings, 12.999, waited=13.0).permit is not None


def test_a_longer_retry_after_lengthens_the_pause_a_shorter_one_does_not() -> None:
    settings = PaceSettings()
    state = initial(settings)
    state, first = go(state, settings, 0.0)
    state, second = go(state, settings, 0.0)
    state, third = go(state, settings, 0.0)
    state, _ = finish(state, settings, first, 0.0, "limited", 5.0)
    state, longer = finish(state, settings, second, 1.0, "limited", 2.0)
    assert not longer
    state, longer = finish(state, settings, third, 2.0, "limited", 10.0)
    assert longer
    # Paused from 0 to 12: the time spent paused counts each second once.
    assert (state.resume_at, state.paused_s) == (12.0, 12.0)
    assert admit(state, settings, 11.0).reason == "pause"


def test_a_retry_after_of_nothing_does_not_pause() -> None:
    settings = PaceSettings()
    state, permit = go(initial(settings), settings, 0.0)
    state, longer = finish(state, settings, permit, 0.0, "limited", 0.0)
    assert not longer
    assert admit(state, settings, 0.0).permit is not None


# The rate, learnt


def test_the_first_429_learns_the_rate_from_the_successes_and_the_pause() -> None:
    _, state = learnt_100_per_second()
    assert state.rate == pytest.approx(100.0)


def learnt_100_per_second() -> tuple[PaceSettings, PaceState]:
    """110 successes in 0.1 s, then a 429 asking for 1 s: a rate of 100 a second, learnt."""
    settings = PaceSettings(concurrency=8)
    state = ok(initial(settings), settings, 0.0, 110, took=1 / 1100)
    state, permit = go(state, settings, 0.1)
    state, _ = finish(state, settings, permit, 0.1, "limited", 1.0)
    return settings, state


def test_after_the_pause_most_of_what_the_server_saved_goes_at_once() -> None:
    settings, state = learnt_100_per_second()
    starts = []
    for _ in range(82):
        state, permit = go(state, settings, 1.1)
        state, _ = finish(state, settings, permit, 1.1, "ok")
        starts.append(permit.start_at)
    # 80% of the 100 requests the server's bucket regained in the pause, then one per 1/100 s.
    assert starts[:80] == [1.1] * 80
    assert starts[80:] == [
        pytest.approx(1.1 + 1 / state.rate, rel=1e-3),
        pytest.approx(1.12, rel=1e-3),
    ]


def test_with_max_rate_nothing_goes_faster_after_a_pause() -> None:
    settings = PaceSettings(max_rate=10.0)
    state = ok(initial(settings), settings, 0.0, 20, took=0.1)
    state, permit = go(state, settings, 2.0)
    state, _ = finish(state, settings, permit, 2.0, "limited", 1.0)
    assert state.rate is not None
    gap = 1 / state.rate
    state, first = go(state, settings, 3.0)
    state, second = go(state, settings, 3.0)
    assert (first.start_at, second.start_at) == (pytest.approx(3 + gap), pytest.approx(3 + 2 * gap))


def test_a_later_429_lowers_the_rate_by_a_tenth_at_least() -> None:
    settings = PaceSettings()
    state = initial(settings)._replace(rate=50.0)
    # 10 successes over 10 s, then a 1 s pause: 10/11 a second.
    state = ok(state, settings, 0.0, 10, took=1.0)
    state, permit = go(state, settings, 10.0)
    state = state._replace(rate=50.0)
    state, _ = finish(state, settings, permit, 10.0, "limited", 1.0)
    assert state.rate == pytest.approx(10 / 11)
    fast = initial(settings)._replace(rate=50.0)
    fast, permit = go(fast, settings, 0.0)
    fast, _ = finish(fast, settings, permit, 0.0, "limited", 1.0)
    assert fast.rate == pytest.approx(45.0)


def test_a_learnt_rate_grows_by_a_step_per_success_never_above_max_rate() -> None:
    settings = PaceSettings(max_rate=10.0)
    state = initial(settings)._replace(rate=9.0)
    state = ok(state, settings, 0.0)
    assert state.rate == pytest.approx(9.0 + RATE_STEP)
    state = ok(state, settings, 0.0, 500)
    assert state.rate == 10.0


def test_too_few_successes_teach_no_rate() -> None:
    settings = PaceSettings()
    state = ok(initial(settings), settings, 0.0, 3)
    state, permit = go(state, settings, 0.0)
    state, _ = finish(state, settings, permit, 0.0, "limited", 1.0)
    assert state.rate is None


def test_the_learnt_rate_has_a_floor_unless_max_rate_is_lower() -> None:
    settings = PaceSettings()
    state = initial(settings)._replace(rate=MIN_RATE)
    state, permit = go(state, settings, 0.0)
    state, _ = finish(state, settings, permit, 0.0, "limited", 1.0)
    assert state.rate == MIN_RATE
    slow = PaceSettings(max_rate=0.01)
    state, permit = go(initial(slow), slow, 0.0)
    state, _ = finish(state, slow, permit, 0.0, "limited", 1.0)
    assert state.rate == 0.01


def test_time_with_nothing_in_flight_is_not_counted() -> None:
    settings = PaceSettings()
    state = ok(initial(settings), settings, 0.0, 20, took=0.01)
    # An approval prompt: a minute with nothing in flight, then 20 successes in 0.2 s.
    state = ok(state, settings, 60.0, 20, took=0.01)
    state, permit = go(state, settings, 60.2)
    state, _ = finish(state, settings, permit, 60.2, "limited", 1.0)
    assert state.rate == pytest.approx(40 / 1.4)


def test_other_failures_only_free_the_slot() -> None:
    settings = PaceSettings(concurrency=2)
    state, permit = go(initial(settings), settings, 0.0)
    after, longer = finish(state, settings, permit, 0.5, "other")
    assert not longer
    assert after._replace(busy_s=0.0) == state._replace(in_flight=0, busy_from=None)
    assert after.busy_s == 0.5


# The async Pacer, on a fake clock


class FakeTime:
    """A clock that only sleeps move, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(main(), timeout=10))


def test_every_worker_waits_out_the_pause_begun_by_one_429() -> None:
    fake = FakeTime()
    events: list[PauseEvent] = []
    pacer = Pacer(PaceSettings(), clock=fake.clock, sleep=fake.sleep, on_pause=events.append)

    async def main() -> list[float]:
        first = await pacer.acquire()
        second = await pacer.acquire()
        assert first is not None
        assert second is not None
        assert pacer.release(first, "limited", 30.0, asked=True)
        pacer.release(second, "ok")
        started = []
        for _ in range(2):
            assert await pacer.acquire() is not None
            started.append(fake.now)
        return started

    assert run(main) == [30.0, 30.0]
    assert fake.sleeps == [30.0]
    assert events == [PauseEvent("begin", 30.0, asked=True), PauseEvent("end", 30.0)]


def test_stop_ends_a_pause_at_once_and_nothing_is_sent() -> None:
    fake = FakeTime()
    pacer = Pacer(PaceSettings(), clock=fake.clock, sleep=fake.sleep)

    async def main() -> object:
        permit = await pacer.acquire()
        assert permit is not None
        pacer.release(permit, "limited", 30.0)
        stop = asyncio.Event()
        stop.set()
        return await pacer.acquire(stop)

    assert run(main) is None
    assert fake.sleeps == []
    assert pacer.state.in_flight == 0


def test_a_worker_waits_for_a_slot_until_another_finishes() -> None:
    fake = FakeTime()
    pacer = Pacer(PaceSettings(concurrency=1), clock=fake.clock, sleep=fake.sleep)
    order: list[str] = []

    async def main() -> None:
        first = await pacer.acquire()
        assert first is not None

        async def second() -> None:
            assert await pacer.acquire() is not None
            order.append("second started")

        task = asyncio.ensure_future(second())
        await asyncio.sleep(0)
        order.append("first done")
        pacer.release(first, "ok")
        await task

    run(main)
    assert order == ["first done", "second started"]


def test_stop_ends_the_wait_for_a_slot() -> None:
    pacer = Pacer(PaceSettings(concurrency=1))

    async def main() -> object:
        assert await pacer.acquire() is not None
        stop = asyncio.Event()
        waiting = asyncio.ensure_future(pacer.acquire(stop))
        await asyncio.sleep(0)
        stop.set()
        return await waiting

    assert run(main) is None
    assert pacer.state.in_flight == 1


def test_the_rate_is_kept_by_sleeping_until_each_turn() -> None:
    fake = FakeTime()
    pacer = Pacer(PaceSettings(max_rate=4.0), clock=fake.clock, sleep=fake.sleep)

    async def main() -> None:
        for _ in range(3):
            permit = await pacer.acquire()
            assert permit is not None
            pacer.release(permit, "ok")

    run(main)
    assert fake.sleeps == [0.25, 0.25]


def test_a_cap_learnt_after_a_request_counts_that_request() -> None:
    # apply reads the account while the config that may set `apply: max_rate` is parsed.
    fake = FakeTime()
    pacer = Pacer(PaceSettings(), clock=fake.clock, sleep=fake.sleep)

    async def main() -> list[float]:
        first = await pacer.acquire()  # the read, sent at 0 with no cap known yet
        assert first is not None
        fake.now = 0.1
        pacer.release(first, "ok")
        pacer.cap(2.0)
        started = []
        for _ in range(2):
            permit = await pacer.acquire()
            assert permit is not None
            started.append(fake.now)
            pacer.release(permit, "ok")
        return started

    assert run(main) == [0.5, 1.0]
    assert pacer.settings.max_rate == 2.0


def test_a_cap_learnt_long_after_the_last_request_lets_the_next_go_at_once() -> None:
    fake = FakeTime()
    pacer = Pacer(PaceSettings(), clock=fake.clock, sleep=fake.sleep)

    async def main() -> None:
        permit = await pacer.acquire()
        assert permit is not None
        pacer.release(permit, "ok")
        fake.now = 3.0
        pacer.cap(2.0)
        assert await pacer.acquire() is not None

    run(main)
    assert fake.sleeps == []


def test_a_cap_lowers_a_learnt_rate_and_keeps_its_bucket() -> None:
    settings = PaceSettings()
    state = initial(settings)._replace(rate=5.0, tokens=-1.0, filled_at=7.0)
    assert capped(state, 2.0, 6.0) == state._replace(rate=2.0)
    assert capped(state, 9.0, 6.0) == state


def test_a_cancelled_wait_gives_its_permit_back() -> None:
    pacer = Pacer(PaceSettings(max_rate=0.001, concurrency=1))

    async def main() -> None:
        assert await pacer.acquire() is not None  # the first goes at once
        pacer.release(Permit(0.0, 0), "ok")
        waiting = asyncio.ensure_future(pacer.acquire())  # the next sleeps 1,000 s for its turn
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    run(main)
    assert pacer.state.in_flight == 0


def test_a_problem_is_told_the_first_time_only() -> None:
    pacer = Pacer()
    assert [pacer.first_time("retry-after") for _ in range(3)] == [True, False, False]


# One pacer per host


def test_clients_of_one_host_share_a_pacer_and_other_hosts_have_their_own() -> None:
    pacers = Pacers(PaceSettings(max_rate=5.0))
    first = pacers.for_url("https://API.example.com/v1")
    assert pacers.for_url("https://api.example.com:443") is first
    assert pacers.for_url("https://api.example.com:8443") is not first
    assert pacers.for_url("http://127.0.0.1:8787") is not first
    assert first.settings.max_rate == 5.0


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.example.com", "https://api.example.com:443"),
        ("HTTP://LOCALHOST/", "http://localhost:80"),
        ("https://api.example.com:8443/base", "https://api.example.com:8443"),
    ],
)
def test_the_host_folds_case_and_default_ports(url: str, host: str) -> None:
    assert host_of(url) == host


def test_an_idle_pacer_holds_nothing() -> None:
    state = initial(PaceSettings())
    assert (state.in_flight, state.rate, state.paused, state.resume_at) == (
        0,
        None,
        False,
        -math.inf,
    )
