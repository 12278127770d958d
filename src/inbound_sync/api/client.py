"""The async client of the Inbound API: five operations, retries, typed answers, no decisions.

Every HTTP attempt is reported to an optional `on_request` hook as a RequestRecord, tagged with
whatever the caller put in the `request_tag` context variable; every wait before a retry is
announced to an optional `on_wait` hook as a WaitNotice before it starts (see records.py).

Every attempt first awaits the host's Pacer (pacing.py), which spaces requests, bounds how many
are in flight, and holds all of them while a 429's Retry-After runs: a 429 pauses every request
to the host, not only the one it answered. A client given no Pacer has one of its own.

Each attempt has a deadline for the whole exchange and a limit on the size of the decoded
answer; plain http:// (loopback only, see settings) never goes through a proxy, since the
proxy would see the key in the clear.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import importlib.util
import itertools
import random
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from inbound_sync import __version__
from inbound_sync.api.body import ACCEPT_ENCODING, ResponseTooLarge, read_limited
from inbound_sync.api.errors import (
    clip,
    describe_exception,
    error_for_status,
    format_error,
    format_validation,
    parse_json,
    refused_error,
    transport_error,
    wait_refused,
)
from inbound_sync.api.models import (
    PAGE_HINTS,
    DeleteResult,
    DetachResult,
    Envelope,
    ListEnvelope,
    RemoteMapping,
    UpdateResult,
)
from inbound_sync.api.pacing import UNBOUNDED, Pacer, PaceSettings, Permit, Result
from inbound_sync.api.records import (
    Outcome,
    RequestHook,
    RequestRecord,
    WaitHook,
    WaitNotice,
    iso_time,
    request_tag,
)
from inbound_sync.api.redaction import redactor
from inbound_sync.api.retry import (
    RetryPolicy,
    backoff_delay,
    exception_is_retryable,
    next_delay,
    retry_after_seconds,
    status_is_retryable,
    was_not_sent,
)
from inbound_sync.api.settings import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ENV_DEADLINE,
    ENV_MAX_RESPONSE,
    ApiKey,
    ConnectionSettings,
    Timeouts,
)
from inbound_sync.errors import ApiError, NotSent, OutcomeUnknown

if TYPE_CHECKING:
    import ssl

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]
Check = Callable[[Any], str | None]


class DeadlineExceeded(httpx.TimeoutException):
    """An attempt took longer than Timeouts.total in all, though no single read timed out."""


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset.UNSET
"""Marks an update field as not given, as opposed to None, which clears it."""
Unset = Literal[_Unset.UNSET]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _Request(NamedTuple):
    method: str
    path: str
    body: Mapping[str, object] | None
    operation: str

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


class _Verdict(NamedTuple):
    """What one attempt came to: a value, a wait before the next, or an error to raise."""

    outcome: Outcome
    status: int | None
    value: object = None
    delay: float = 0.0
    error: ApiError | None = None
    note: str | None = None
    asked: bool = False
    # For a retry: what to raise if the wait before the next attempt is interrupted.
    fallback: ApiError | None = None
    # A 429: the wait is a pause of every request to the host, kept by the Pacer.
    limited: bool = False


_TIMEOUT = getattr(asyncio, "timeout", None)

DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()

# Plain http:// is allowed only to loopback, where a proxy from the environment (HTTP_PROXY,
# ALL_PROXY) would be the one party that reads the key in the clear: it is never used. https://
# keeps the proxies of the environment, NO_PROXY included; the key travels inside TLS.
_DIRECT_HTTP: dict[str, httpx.AsyncBaseTransport | None] = {"http://": None}

# A ListEnvelope is an Envelope; the cast only says so to the invariant TypeAdapter.
_LIST = cast(
    "TypeAdapter[Envelope[tuple[RemoteMapping, ...]]]",
    TypeAdapter(ListEnvelope[tuple[RemoteMapping, ...]]),
)
_MAPPING = TypeAdapter(Envelope[RemoteMapping])
_UPDATE = TypeAdapter(Envelope[UpdateResult])
_DETACH = TypeAdapter(Envelope[DetachResult])
_DELETE = TypeAdapter(Envelope[DeleteResult])


def _spare_failed_imports() -> None:
    """httpcore imports sniffio on every request and falls back to asyncio when it is missing.

    Without sniffio installed (anyio no longer needs it), each request paid a full, failing
    import search: about a third of the client's CPU time in a bulk apply. Marking the module
    absent makes that import fail at once; an installed sniffio is left alone.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_spare_failed_imports()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, made once per process: loading the CA bundle costs
    tens of milliseconds, and a run makes a client per phase (and per target in a fleet)."""
    return httpx.create_ssl_context()


class InboundClient:
    """GET /inbound/list and the four writes, over an httpx.AsyncClient; use `async with`.

    Setting `stop` (Ctrl-C, say) ends any wait between attempts at once: the request then fails
    with what its last attempt met, which for a write always means it was not applied.
    """

    def __init__(
        self,
        base_url: str,
        api_key: ApiKey,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        on_request: RequestHook | None = None,
        on_wait: WaitHook | None = None,
        stop: asyncio.Event | None = None,
        pacer: Pacer | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("pass either http= or transport=, not both")
        if retry.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._key = api_key
        self._redact = redactor(api_key.reveal())
        self._owns_http = http is None
        headers = {
            "Authorization": f"Bearer {api_key.reveal()}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": f"inbound-sync/{__version__}",
        }
        # Redirects stay unfollowed so that the Authorization header goes nowhere else.
        if http is None:
            # The headers and timeouts of every request, merged once here rather than into each.
            http = httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,
                mounts=_DIRECT_HTTP,
                headers=headers,
                timeout=timeouts.to_httpx(),
                verify=_tls_context(),
            )
            self._per_request: dict[str, Any] = {}
        else:
            self._per_request = {"headers": headers, "timeout": timeouts.to_httpx()}
        self._http = http
        self._deadline = timeouts.total
        self._max_bytes = max_response_bytes
        self._retry = retry
        self._on_request = on_request
        self._on_wait = on_wait
        self._stop = stop
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        # Its own pacer keeps time by the client's clock and sleep, so that a test's fake ones
        # rule both.
        self._pacer = pacer or Pacer(
            PaceSettings(concurrency=UNBOUNDED), clock=lambda: clock().timestamp(), sleep=sleep
        )

    @classmethod
    def from_settings(cls, settings: ConnectionSettings, **options: Any) -> InboundClient:
        """A client for the settings' URL, key, timeouts, retries and answer size limit; options
        as for __init__."""
        return cls(
            settings.base_url,
            settings.api_key,
            timeouts=settings.timeouts,
            retry=settings.retry,
            max_response_bytes=settings.max_response_bytes,
            **options,
        )

    def __repr__(self) -> str:
        return f"InboundClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> InboundClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it; an injected one stays open."""
        if self._owns_http:
            await self._http.aclose()

    async def list(self, *, label: str | None = None) -> tuple[RemoteMapping, ...]:
        """Every active mapping of the account; two of them sharing an inbound_id is malformed."""
        request = _request("GET", "/inbound/list", None, label)
        return await self._call(request, _LIST, check=_shared_id)

    async def assign(
        self,
        *,
        phone_number: str,
        assistant_id: str,
        inbound_context_strategy_id: str | None = None,
        service: str = "exotel",
        label: str | None = None,
    ) -> RemoteMapping:
        """Create a mapping; the strategy is sent only when given."""
        body: dict[str, object] = {
            "assistant_id": assistant_id,
            "service": service,
            "inbound_config": {"type": service, "phone_number": phone_number},
        }
        if inbound_context_strategy_id is not None:
            body["inbound_context_strategy_id"] = inbound_context_strategy_id
        return await self._call(_request("POST", "/inbound/assign", body, label), _MAPPING)

    async def update(
        self,
        inbound_id: str,
        *,
        assistant_id: str | Unset | None = UNSET,
        inbound_context_strategy_id: str | Unset | None = UNSET,
        label: str | None = None,
    ) -> UpdateResult:
        """PATCH only the fields given; None sends JSON null, which clears the field."""
        fields = {
            "assistant_id": assistant_id,
            "inbound_context_strategy_id": inbound_context_strategy_id,
        }
        body = {name: value for name, value in fields.items() if value is not UNSET}
        if not body:
            raise ValueError("update needs at least one field")
        path = _id_path("/inbound/update/", inbound_id)
        return await self._call(_request("PATCH", path, body, label), _UPDATE)

    async def detach(self, inbound_id: str, *, label: str | None = None) -> DetachResult:
        """Clear the assistant and the strategy; the mapping stays active."""
        path = _id_path("/inbound/detach/", inbound_id)
        return await self._call(_request("POST", path, None, label), _DETACH)

    async def delete(self, inbound_id: str, *, label: str | None = None) -> DeleteResult:
        """Deactivate the mapping and release its number."""
        path = _id_path("/inbound/delete/", inbound_id)
        return await self._call(_request("DELETE", path, None, label), _DELETE)

    async def _call(
        self, request: _Request, adapter: TypeAdapter[Envelope[T]], check: Check | None = None
    ) -> T:
        counted = 0  # attempts toward giving up; a patient client does not count 429s
        verdict: _Verdict | None = None
        for attempt in itertools.count(1):
            permit = await self._pacer.acquire(self._stop)
            if permit is None:
                raise _not_sent(request, verdict)
            counted += 1
            last = counted >= self._retry.attempts
            verdict = await self._paced(permit, request, adapter, attempt, last=last, check=check)
            if verdict.error is not None:
                raise verdict.error
            if verdict.outcome == "ok":
                return cast(T, verdict.value)
            if verdict.limited:
                if self._retry.patient:
                    counted -= 1
                continue  # the next acquire() waits out the pause
            if not await self._wait(request, verdict, attempt) and verdict.fallback is not None:
                raise _interrupted(verdict.fallback)
        raise AssertionError("unreachable: the last attempt always decides")

    async def _paced(
        self,
        permit: Permit,
        request: _Request,
        adapter: TypeAdapter[Envelope[T]],
        attempt: int,
        *,
        last: bool,
        check: Check | None,
    ) -> _Verdict:
        """One attempt under `permit`, given back with what its answer was (a 429, a pause)."""
        result: Result = "other"
        verdict: _Verdict | None = None
        try:
            verdict = await self._attempt(request, adapter, attempt, last=last, check=check)
            result = "ok" if verdict.outcome == "ok" else result
            result = "limited" if verdict.status == 429 else result
        finally:
            pause = verdict.delay if verdict is not None and verdict.limited else 0.0
            asked = verdict is not None and verdict.asked
            longer = self._pacer.release(permit, result, pause, asked)
        if longer:
            self._announce(request, verdict, attempt, shared=True)
        return verdict

    async def _wait(self, request: _Request, verdict: _Verdict, attempt: int) -> bool:
        """Say what is waited for, then wait; the one place the client pauses between attempts
        on its own (a 429's pause is the Pacer's). False when `stop` ended the wait."""
        self._announce(request, verdict, attempt)
        return await self._pause(verdict.delay)

    def _announce(
        self, request: _Request, verdict: _Verdict, attempt: int, *, shared: bool = False
    ) -> None:
        if self._on_wait is not None and verdict.delay > 0:
            notice = WaitNotice(
                seconds=verdict.delay,
                operation=request.operation,
                reason=verdict.note or "",
                asked=verdict.asked,
                attempt=attempt,
                tag=MappingProxyType(dict(request_tag.get())),
                shared=shared,
            )
            self._on_wait(notice)

    async def _pause(self, seconds: float) -> bool:
        stop = self._stop
        if stop is None:
            await self._sleep(seconds)
            return True
        if stop.is_set():
            return False
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()
        return not stop.is_set()

    async def _attempt(
        self,
        request: _Request,
        adapter: TypeAdapter[Envelope[T]],
        attempt: int,
        *,
        last: bool,
        check: Check | None,
    ) -> _Verdict:
        started_at = self._clock()
        started = time.perf_counter()
        try:
            response = await self._exchange(request)
        except httpx.HTTPError as exc:
            verdict = self._judge_exception(request, exc, attempt, last=last)
        except ResponseTooLarge as exc:
            verdict = self._too_large(request, exc)
        else:
            verdict = self._judge_response(request, response, adapter, attempt, last=last)
            if check is not None and verdict.outcome == "ok":
                verdict = self._judge_value(request, verdict, check)
        self._report(request, attempt, started_at, time.perf_counter() - started, verdict)
        return verdict

    async def _exchange(self, request: _Request) -> httpx.Response:
        """Send the request and read its whole answer, all within the attempt's deadline."""
        try:
            if _TIMEOUT is None:
                return await asyncio.wait_for(self._send(request), self._deadline)
            # Python 3.11+: a deadline on this task, where wait_for starts a task per attempt.
            async with _TIMEOUT(self._deadline):
                return await self._send(request)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(
                f"no complete answer within {self._deadline:g} s;"
                f" {ENV_DEADLINE} sets a longer deadline"
            ) from None

    async def _send(self, request: _Request) -> httpx.Response:
        sent = self._http.build_request(
            request.method, self._base_url + request.path, json=request.body, **self._per_request
        )
        # Streamed, so that an answer too large is refused as it arrives, not once it is whole.
        response = await self._http.send(sent, stream=True)
        return await read_limited(response, self._max_bytes)

    def _too_large(self, request: _Request, exc: ResponseTooLarge) -> _Verdict:
        # Not retried: the same request would bring the same answer, as slowly.
        problem = (
            f"larger than {exc.limit:,} bytes, the most the client reads;"
            f" if the account is that large, raise {ENV_MAX_RESPONSE}"
        )
        return self._malformed(request, exc.status, problem)

    def _judge_exception(
        self, request: _Request, exc: httpx.HTTPError, attempt: int, *, last: bool
    ) -> _Verdict:
        error = transport_error(
            exc,
            operation=request.operation,
            write=request.write,
            sent=not was_not_sent(exc),
            attempts=attempt,
            redact=self._redact,
        )
        if exception_is_retryable(exc, write=request.write) and not last:
            delay = next_delay(self._retry, attempt, None, self._rng)
            note = describe_exception(exc, self._redact)
            return _Verdict("retry", None, delay=delay, note=note, fallback=error)
        return _failed(None, error)

    def _judge_response(
        self,
        request: _Request,
        response: httpx.Response,
        adapter: TypeAdapter[Envelope[T]],
        attempt: int,
        *,
        last: bool,
    ) -> _Verdict:
        status = response.status_code
        if 200 <= status < 300:
            return self._judge_body(request, response, adapter)
        patient = status == 429 and self._retry.patient
        if not (status_is_retryable(status, write=request.write) and (patient or not last)):
            return _failed(status, self._status_error(request, response, attempt))
        header = response.headers.get("retry-after")
        hint = retry_after_seconds(header, self._clock())
        cap = self._retry.max_retry_after
        if hint is not None and hint > cap:
            # Waiting less than asked would only be refused again; waiting that long is no
            # retry, but a run that hangs for minutes without saying why.
            refusal = wait_refused(str(header), hint, cap, self._redact)
            return _failed(status, self._status_error(request, response, attempt, refusal))
        delay = next_delay(self._retry, attempt, hint, self._rng)
        if status == 429 and delay == 0 and attempt > 1:
            # "Retry-After: 0" again and again would make a loop of requests: back off instead.
            delay = backoff_delay(self._retry, attempt - 1, self._rng)
        return _Verdict(
            "retry",
            status,
            delay=delay,
            note=f"HTTP {status}" + self._unusable(header, hint),
            asked=hint is not None,
            fallback=self._status_error(request, response, attempt),
            limited=status == 429,
        )

    def _unusable(self, header: str | None, hint: float | None) -> str:
        """A word on a Retry-After that cannot be read, the first time the run meets one."""
        if header is None or hint is not None or not self._pacer.first_time("retry-after"):
            return ""
        shown = clip(self._redact(" ".join(header.split())), 40)
        return f" (Retry-After {shown!r} is not a delay or a date: ignored, backing off instead)"

    def _status_error(
        self, request: _Request, response: httpx.Response, attempt: int, refusal: str = ""
    ) -> ApiError:
        return error_for_status(
            response,
            operation=request.operation,
            write=request.write,
            attempts=attempt,
            redact=self._redact,
            refused_wait=refusal,
        )

    def _judge_body(
        self, request: _Request, response: httpx.Response, adapter: TypeAdapter[Envelope[T]]
    ) -> _Verdict:
        # The common case in one pass: bytes straight into the models, with no dict of the
        # whole body built first (it doubled the peak memory of a large list).
        try:
            envelope = adapter.validate_json(response.content)
        except ValidationError as exc:
            return self._judge_unusual_body(request, response, exc)
        paged = not request.write and _paged(envelope)
        if envelope.success is False or paged:
            return self._judge_unusual_body(request, response, None)
        return _Verdict("ok", response.status_code, value=envelope.data)

    def _judge_unusual_body(
        self, request: _Request, response: httpx.Response, invalid: ValidationError | None
    ) -> _Verdict:
        """Names what is wrong with a body that refuses, pages, or does not match the contract
        (`invalid`, the models' verdict; None when they accepted it)."""
        status = response.status_code
        try:
            body = parse_json(response.content)
        except ValueError:
            return self._malformed(request, status, "a body that is not valid JSON")
        if not isinstance(body, dict):
            kind = "a list" if isinstance(body, list) else f"a JSON {type(body).__name__}"
            return self._malformed(request, status, f"{kind} where an object belongs")
        if body.get("success") is False:
            refused = refused_error(
                body, operation=request.operation, status=status, redact=self._redact
            )
            return _failed(status, refused)
        if not request.write and any(body.get(hint) for hint in PAGE_HINTS):
            return self._malformed(request, status, "a paginated list, which is not supported")
        if invalid is None:
            raise AssertionError("unreachable: an accepted body comes here only to refuse or page")
        problem = f"a body that does not match the contract: {format_validation(invalid)}"
        return self._malformed(request, status, problem)

    def _judge_value(self, request: _Request, verdict: _Verdict, check: Check) -> _Verdict:
        problem = check(verdict.value)
        if problem is None or verdict.status is None:
            return verdict
        return self._malformed(request, verdict.status, problem)

    def _malformed(self, request: _Request, status: int, problem: str) -> _Verdict:
        error = format_error(
            problem,
            request=request.line,
            operation=request.operation,
            status=status,
            write=request.write,
            redact=self._redact,
        )
        return _failed(status, error)

    def _report(
        self, request: _Request, attempt: int, started_at: datetime, took: float, v: _Verdict
    ) -> None:
        if self._on_request is None:
            return
        record = RequestRecord(
            time=iso_time(started_at),
            method=request.method,
            path=request.path,
            status=v.status,
            attempt=attempt,
            duration_s=took,
            outcome=v.outcome,
            error=v.error.detail if v.error is not None else v.note,
            tag=MappingProxyType(_tag_with_answer(v)),
        )
        self._on_request(record)


def _tag_with_answer(verdict: _Verdict) -> dict[str, str]:
    """The caller's tag; an assign's caller cannot know the new mapping's id, so a successful
    answer supplies it (the audit log records which mapping each write made)."""
    tag = dict(request_tag.get())
    ident = getattr(verdict.value, "inbound_id", None) if verdict.outcome == "ok" else None
    if "inbound_id" in tag and not tag["inbound_id"] and isinstance(ident, str):
        tag["inbound_id"] = ident
    return tag


def _shared_id(mappings: tuple[RemoteMapping, ...]) -> str | None:
    """Two mappings under one inbound_id: a write meant for one would act on the other."""
    seen: dict[str, RemoteMapping] = {}
    for mapping in mappings:
        first = seen.setdefault(mapping.inbound_id, mapping)
        if first is not mapping:
            numbers = [clip(m.phone_number_normalized, 40) for m in (first, mapping)]
            return (
                f"a listing in which two mappings share inbound_id {clip(mapping.inbound_id)!r}"
                f" (numbers {numbers[0]} and {numbers[1]})"
            )
    return None


def _paged(envelope: Envelope[Any]) -> bool:
    return any(getattr(envelope, hint, None) for hint in PAGE_HINTS)


def _not_sent(request: _Request, verdict: _Verdict | None) -> ApiError:
    """What to raise when `stop` ended the wait for a turn to send: the last attempt's error,
    or, before any attempt, that the request was never sent."""
    if verdict is not None and verdict.fallback is not None:
        return _interrupted(verdict.fallback)
    return NotSent("the run stopped while it waited for its turn", operation=request.operation)


def _interrupted(error: ApiError) -> ApiError:
    """The error of the last attempt, saying that no further attempt was made."""
    detail = error.detail + "; interrupted while waiting to try again"
    return type(error)(detail, operation=error.operation, status=error.status)


def _failed(status: int | None, error: ApiError) -> _Verdict:
    outcome: Outcome = "unknown" if isinstance(error, OutcomeUnknown) else "error"
    return _Verdict(outcome, status, error=error)


def _request(
    method: str, path: str, body: Mapping[str, object] | None, label: str | None
) -> _Request:
    return _Request(method, path, body, label or f"{method} {path}")


def _id_path(prefix: str, inbound_id: str) -> str:
    # Quoted whole, so that an id can never reach another endpoint through '/', '?' or '..'.
    if inbound_id in ("", ".", ".."):
        raise ValueError(f"not a usable inbound_id: {inbound_id!r}")
    return prefix + quote(inbound_id, safe="")
