"""The pace of the requests to one API host, shared by every client of that host in a run.

    PaceSettings  the most requests per second (--max-rate; None: no cap) and in flight at once
    PaceState     a token bucket, the pause, the window of requests in flight, the counters
    admit/finish  pure functions over a PaceState: may a request start now, and what its answer
                  teaches; they take the time as an argument
    Pacer         the async edge, with an injectable clock and sleep: a client awaits acquire()
                  before each request and calls release() with what the answer was
    Pacers        one Pacer per API host (scheme, host and port), for every client of a run

A 429 pauses every request to the host until its Retry-After has passed (one second of the
client's own backoff when the server gave none). The first 429 of a round then halves the window
of requests in flight (multiplicative decrease), which grows back by one for every window's worth
of successes (additive increase), never above the concurrency; the 429s answered to requests
sent before that decrease change nothing more.

The rate is learnt the same way, since a window alone cannot slow a client whose requests each
take a millisecond: at the first 429 of a round, the requests that succeeded since the last pause,
over the time some were in flight since then plus the pause, are as many as the server allows;
the rate becomes that, or 90% of the rate before, whichever is lower, and grows by RATE_STEP per
success. (Time with nothing in flight, such as an approval prompt or the planning between the
first read and the writes, says nothing of the server and is not counted.) This assumes the
server's bucket holds about its rate times its Retry-After, as one refilled every second does;
so, unless --max-rate is given, CREDIT_SHARE of that many requests go at once when the pause
ends, instead of leaving unused what the server saved during it. The rate never goes above
--max-rate, which paces every request from the start, one at a time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

Result = Literal["ok", "limited", "other"]

WINDOW_DECREASE = 0.5
RATE_DECREASE = 0.9
RATE_STEP = 0.01
"""Requests/s added to a learnt rate per success: while the rate is what limits the client, it
grows by 1% a second, whatever it is."""
MIN_SAMPLE = 8
"""Successes needed before the rate is estimated from them: fewer say nothing of the server."""
MIN_RATE = 0.1
"""A learnt rate never falls below one request in ten seconds (unless --max-rate is lower)."""
CREDIT_SHARE = 0.8
"""Of the requests the server's bucket saved during a pause, the share sent at once after it."""
UNBOUNDED = 1 << 30


class PaceSettings(NamedTuple):
    """`max_rate` requests per second over every request (None: no cap); at most `concurrency`
    in flight at once."""

    max_rate: float | None = None
    concurrency: int = 8


DEFAULT_SETTINGS = PaceSettings()


class PaceState(NamedTuple):
    """Everything the pacer knows; times are seconds on the pacer's clock."""

    rate: float | None
    # The client's token bucket: what it held at `filled_at` (below 0: requests waiting their
    # turn), refilled at `rate` up to one; `credit` is what it gets when the pause ends.
    tokens: float
    filled_at: float
    credit: float
    resume_at: float
    paused: bool
    pause_from: float
    window: float
    in_flight: int
    epoch: int
    busy_from: float | None
    busy_s: float
    succeeded: int
    rate_limited: int
    paused_s: float


class Permit(NamedTuple):
    """A request allowed to start at `start_at`, in the round `epoch` of decreases."""

    start_at: float
    epoch: int


class Admission(NamedTuple):
    """What `admit` decided: a permit, or how long to wait first ("slot": until a release)."""

    state: PaceState
    permit: Permit | None
    wait: float
    reason: Literal["go", "pause", "slot"]
    # The length of the pause that this admission found over, if it did.
    resumed: float | None = None


def initial(settings: PaceSettings) -> PaceState:
    return PaceState(
        rate=settings.max_rate,
        tokens=1.0,
        filled_at=-math.inf,
        credit=0.0,
        resume_at=-math.inf,
        paused=False,
        pause_from=-math.inf,
        window=float(settings.concurrency),
        in_flight=0,
        epoch=0,
        busy_from=None,
        busy_s=0.0,
        succeeded=0,
        rate_limited=0,
        paused_s=0.0,
    )


def pause_left(state: PaceState, now: float, waited: float = -math.inf) -> Admission:
    """The seconds of pause left at `now` ("pause"), or none ("go", with the pause's length in
    `resumed` when it is over). `waited` is the end of the pause the caller has slept through
    already: for it the pause is over, even when its sleep ended a little early on the clock."""
    if not state.paused:
        return Admission(state, None, 0.0, "go")
    if now < state.resume_at and waited < state.resume_at:
        return Admission(state, None, state.resume_at - now, "pause")
    length = state.resume_at - state.pause_from
    tokens = state.credit + min(0.0, state.tokens)
    resumed = state._replace(paused=False, tokens=tokens, filled_at=now, credit=0.0)
    return Admission(resumed, None, 0.0, "go", length)


def admit(
    state: PaceState, settings: PaceSettings, now: float, waited: float = -math.inf
) -> Admission:
    """May a request start at `now`? A permit says when (the rate may make it wait a little);
    else wait out the pause, or for a free slot in the window ("slot": until a release)."""
    resumed = None
    if state.paused:
        paused = pause_left(state, now, waited)
        if paused.reason == "pause":
            return paused
        state, resumed = paused.state, paused.resumed
    if state.in_flight >= max(1, int(state.window)):
        return Admission(state, None, math.inf, "slot", resumed)
    busy_from = now if state.in_flight == 0 else state.busy_from
    state = state._replace(in_flight=state.in_flight + 1, busy_from=busy_from)
    start = now
    if state.rate is not None:
        state, start = _take(state, state.rate, now)
    return Admission(state, Permit(start, state.epoch), start - now, "go", resumed)


def _take(state: PaceState, rate: float, now: float) -> tuple[PaceState, float]:
    """One token, and when it may be used: now if the bucket has it, else when it will."""
    refilled = state.tokens + max(0.0, now - state.filled_at) * rate
    tokens = min(max(1.0, state.tokens), refilled) - 1.0
    start = now if tokens >= 0 else now - tokens / rate
    return state._replace(tokens=tokens, filled_at=now), start


def finish(
    state: PaceState,
    settings: PaceSettings,
    permit: Permit,
    now: float,
    result: Result,
    pause: float = 0.0,
) -> tuple[PaceState, bool]:
    """The state after a request's answer, and whether a 429 began or lengthened a pause.

    "limited" is a 429, to be followed by `pause` seconds without any request.
    """
    if result == "ok":
        return _succeeded(state, settings, now), False
    state = _ended(state, now)
    if result != "limited":
        return state, False
    state = state._replace(rate_limited=state.rate_limited + 1)
    resume = now + pause
    held = max(now, state.resume_at) if state.paused else now
    longer = pause > 0 and resume > held
    if longer:
        began = state.pause_from if state.paused else now
        state = state._replace(
            resume_at=resume, paused=True, pause_from=began, paused_s=state.paused_s + resume - held
        )
    if permit.epoch == state.epoch:
        state = _decreased(state, settings, now, pause)
    return state, longer


def _succeeded(state: PaceState, settings: PaceSettings, now: float) -> PaceState:
    """A success ends its request and widens the window: one copy of the state, as every
    request's answer comes here."""
    window = min(float(settings.concurrency), state.window + 1.0 / state.window)
    rate = state.rate
    if rate is not None:
        rate = min(settings.max_rate or math.inf, rate + RATE_STEP)
    return state._replace(
        window=window, rate=rate, succeeded=state.succeeded + 1, **_ending(state, now)
    )


def _decreased(state: PaceState, settings: PaceSettings, now: float, pause: float) -> PaceState:
    """The first 429 of a round: a smaller window and a lower rate, and a new round."""
    limits = [settings.max_rate or math.inf]
    if state.rate is not None:
        limits.append(state.rate * RATE_DECREASE)
    span = _busy(state, now) + pause
    if state.succeeded >= MIN_SAMPLE and span > 0:
        limits.append(state.succeeded / span)
    slowest = min(limits)
    floor = min(MIN_RATE, settings.max_rate or MIN_RATE)
    rate = max(floor, slowest) if math.isfinite(slowest) else None
    saved = rate * pause if rate is not None and settings.max_rate is None else 0.0
    return state._replace(
        epoch=state.epoch + 1,
        window=max(1.0, state.window * WINDOW_DECREASE),
        rate=rate,
        credit=CREDIT_SHARE * saved,
        succeeded=0,
        busy_s=0.0,
        # The answers still to come arrive during the pause, which is counted already.
        busy_from=now + pause if state.in_flight else None,
    )


def capped(state: PaceState, max_rate: float, last_start: float) -> PaceState:
    """The state once a cap of `max_rate` requests per second applies, learnt after requests
    were sent without one (a config read while the account was): the bucket is as if the last
    of them, sent at `last_start`, had taken its token."""
    if state.rate is not None:  # learnt from a 429: the bucket is kept already
        return state._replace(rate=min(state.rate, max_rate))
    return state._replace(rate=max_rate, tokens=0.0, filled_at=last_start)


def cancelled(state: PaceState, now: float) -> PaceState:
    """A permit given back unused: the request was never sent."""
    return _ended(state, now)


def _ended(state: PaceState, now: float) -> PaceState:
    return state._replace(**_ending(state, now))


def _ending(state: PaceState, now: float) -> dict[str, Any]:
    """What changes as a request ends: one fewer in flight; the busy spell ends with the last."""
    in_flight = max(0, state.in_flight - 1)
    if in_flight or state.busy_from is None:
        return {"in_flight": in_flight}
    return {"in_flight": 0, "busy_from": None, "busy_s": _busy(state, now)}


def _busy(state: PaceState, now: float) -> float:
    """Seconds with a request in flight since the last pause, the current spell included."""
    spell = now - state.busy_from if state.busy_from is not None else 0.0
    return state.busy_s + max(0.0, spell)


# -- the async edge ------------------------------------------------------------------------------


class PauseEvent(NamedTuple):
    """A pause of every request to the host: "begin" with the seconds it is to last and whether
    the server asked for them (Retry-After); "end" with how long it lasted, lengthened or not."""

    kind: Literal["begin", "end"]
    seconds: float
    asked: bool = False


PauseHook = Callable[[PauseEvent], None]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """The pace of one API host; shared by every client of that host, across event loops.

    It holds no event-loop object between calls, so that one Pacer serves the several
    `asyncio.run` of a command.
    """

    def __init__(
        self,
        settings: PaceSettings = DEFAULT_SETTINGS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_pause: PauseHook | None = None,
    ) -> None:
        self.settings = settings
        self.on_pause = on_pause
        self._clock = clock
        self._sleep = sleep
        self._state = initial(settings)
        self._slots: deque[asyncio.Future[None]] = deque()
        self._told: set[str] = set()
        self._last_start = -math.inf

    @property
    def state(self) -> PaceState:
        return self._state

    def __repr__(self) -> str:
        return f"Pacer({self.settings!r})"

    async def acquire(self, stop: asyncio.Event | None = None) -> Permit | None:
        """Wait for the pause, a free slot and the rate; None if `stop` ended a wait."""
        waited = -math.inf
        while True:
            admission = admit(self._state, self.settings, self._clock(), waited)
            self._state = admission.state
            if admission.resumed is not None:
                self._tell(PauseEvent("end", admission.resumed))
            if admission.permit is None:
                pass
            elif admission.wait > 0:
                return await self._start(admission.permit, admission.wait, stop)
            else:
                # Its turn is now: nothing to sleep through, so no pause can begin before it goes.
                self._last_start = max(self._last_start, admission.permit.start_at)
                return admission.permit
            if admission.reason == "slot":
                if not await self._free_slot(stop):
                    return None
                continue
            waited = self._state.resume_at
            if not await self._pause(admission.wait, stop):
                return None

    async def _start(
        self, permit: Permit, wait: float, stop: asyncio.Event | None
    ) -> Permit | None:
        """Sleep until the permit's turn (not ended by `stop`: the rate's gap is short, and a
        request sent early would break the limit it keeps), then out any pause begun meanwhile."""
        try:
            if wait > 0:
                await self._sleep(wait)
            waited = -math.inf
            while (left := self._pause_left(waited)) > 0:
                waited = self._state.resume_at
                if not await self._pause(left, stop):
                    self.give_back()
                    return None
        except BaseException:
            self.give_back()
            raise
        self._last_start = max(self._last_start, permit.start_at)
        return permit

    def cap(self, max_rate: float) -> None:
        """From now on, at most `max_rate` requests per second, as if --max-rate had said so from
        the start: the requests already sent count."""
        self.settings = self.settings._replace(max_rate=max_rate)
        self._state = capped(self._state, max_rate, self._last_start)

    def _pause_left(self, waited: float) -> float:
        paused = pause_left(self._state, self._clock(), waited)
        self._state = paused.state
        if paused.resumed is not None:
            self._tell(PauseEvent("end", paused.resumed))
        return paused.wait

    def release(
        self, permit: Permit, result: Result, pause: float = 0.0, asked: bool = False
    ) -> bool:
        """Record a request's answer; True when its 429 began or lengthened the pause."""
        was_paused = self._state.paused
        self._state, longer = finish(
            self._state, self.settings, permit, self._clock(), result, pause
        )
        if longer and not was_paused:
            self._tell(PauseEvent("begin", pause, asked))
        self._wake()
        return longer

    def give_back(self) -> None:
        """A permit not used: its request was never sent."""
        self._state = cancelled(self._state, self._clock())
        self._wake()

    def first_time(self, what: str) -> bool:
        """True the first time `what` is asked about: a problem reported once per run."""
        if what in self._told:
            return False
        self._told.add(what)
        return True

    def _tell(self, event: PauseEvent) -> None:
        if self.on_pause is not None:
            self.on_pause(event)

    def _wake(self) -> None:
        free = max(1, int(self._state.window)) - self._state.in_flight
        while free > 0 and self._slots:
            waiter = self._slots.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    async def _free_slot(self, stop: asyncio.Event | None) -> bool:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slots.append(waiter)
        freed = False
        try:
            freed = await _until(waiter, stop)
        finally:
            if waiter in self._slots:
                self._slots.remove(waiter)
            if not freed:
                # A slot this waiter was woken for, and leaves unused, goes to the next one.
                waiter.cancel()
                self._wake()
        return freed

    async def _pause(self, seconds: float, stop: asyncio.Event | None) -> bool:
        if stop is not None and stop.is_set():
            return False
        return await _until(asyncio.ensure_future(self._sleep(seconds)), stop)


async def _until(waiting: asyncio.Future[Any], stop: asyncio.Event | None) -> bool:
    """Await `waiting`; False when `stop` came first (then `waiting` is cancelled)."""
    if stop is None:
        await waiting
        return True
    if stop.is_set():
        waiting.cancel()
        return False
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        stopping.cancel()
    return not stop.is_set() or (waiting.done() and not waiting.cancelled())


def host_of(base_url: str) -> str:
    """'https://api.example.com:443': what a pacer is shared by (case and default port folded)."""
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


class Pacers:
    """The pacers of a run, one per API host, made on first use with the same settings and
    hooks: give one Pacers to every client (every target of a fleet) that should share them."""

    def __init__(
        self,
        settings: PaceSettings = DEFAULT_SETTINGS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_pause: PauseHook | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._on_pause = on_pause
        self._by_host: dict[str, Pacer] = {}

    def for_url(self, base_url: str) -> Pacer:
        key = host_of(base_url)
        pacer = self._by_host.get(key)
        if pacer is None:
            pacer = Pacer(
                self._settings, clock=self._clock, sleep=self._sleep, on_pause=self._on_pause
            )
            self._by_host[key] = pacer
        return pacer
