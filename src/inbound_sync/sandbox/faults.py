"""Fault injection: make API requests fail the ways real networks and proxies make them fail.

A rule is a JSON object; `count` is how many matching requests it fires on (default 1):

    {"kind": "error_before", "count": 1, "match": "writes", "status": 503}

    match      "writes" (default: POST, PUT, PATCH, DELETE), "reads" (GET, HEAD), "all",
               or "METHOD /path-prefix" such as "PATCH /inbound/update" ("*" for any method)
    kind       error_before  answer `status` (503) without applying the request
               error_after   apply it, then answer `status` (504)
               rate_limit    429 with `Retry-After: <retry_after>` ("1"), not applied
               html          an HTML error page with `status` (502), as a proxy sends, not applied
               drop_before   cut the connection without applying
               drop_after    apply, then cut the connection mid-response
               slow          wait `delay_ms` (1000), then apply and answer normally
               duplicate_id  answer normally, but give the second mapping of a list answer the
                             first one's inbound_id, as a broken server could (match defaults
                             to "GET /inbound/list"; a list of fewer than two is left alone)

Random mode, for soak tests: {"random": {"seed": 42, "rate": 0.2, "kinds": [...], "match": ...}}
picks a fault for each matching request that no rule claimed, with a seeded RNG. `kinds` holds
kind names or rule objects without count (default: every kind but slow and duplicate_id).

A dropped connection must reach an httpx client as a TransportError, never as a response. The
same code does it on both ways of serving the app: it starts the response with a Content-Length,
sends half of the body, and raises ConnectionDropped (an httpx.RemoteProtocolError):
- over a uvicorn socket, an exception after the response started makes uvicorn close the
  connection; the client reads a short body and raises RemoteProtocolError;
- through httpx.ASGITransport, the app's exception propagates to the caller as it is, so the
  caller sees the RemoteProtocolError itself.
(Raising before the response starts would not do: uvicorn would answer a complete 500. And
drop_before reads the request body first: a socket closed on unread bytes is reset, and the
client would sometimes see a ReadError instead.)
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, NamedTuple

import httpx
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "KINDS",
    "ConnectionDropped",
    "Fault",
    "FaultBook",
    "drain_request",
    "inject",
    "parse_random",
    "parse_rule",
]

KINDS = (
    "error_before",
    "error_after",
    "rate_limit",
    "html",
    "drop_before",
    "drop_after",
    "slow",
    "duplicate_id",
)
# Kinds random mode leaves out unless named: a slow answer, and a listing no client may act on.
_NOT_RANDOM = frozenset({"slow", "duplicate_id"})
DEFAULT_MATCH = {"duplicate_id": "GET /inbound/list"}
DEFAULT_STATUS = {
    "error_before": 503,
    "error_after": 504,
    "rate_limit": 429,
    "html": 502,
    "drop_before": 502,
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
_RULE_KEYS = frozenset({"kind", "count", "match", "status", "retry_after", "delay_ms"})
_KIND_KEYS = _RULE_KEYS - {"count"}
_RANDOM_KEYS = frozenset({"seed", "rate", "kinds", "match"})

_HTML_PAGE = """<html>
<head><title>{status} {phrase}</title></head>
<body>
<center><h1>{status} {phrase}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the app to cut the connection; in-process it is the client's own exception."""


class Fault(NamedTuple):
    """One way to fail a request; `status` is 0 for kinds that keep the app's own answer."""

    kind: str
    match: str = "writes"
    status: int = 0
    retry_after: str = "1"
    delay_ms: int = 1000

    def matches(self, method: str, path: str) -> bool:
        return matches(self.match, method, path)


def matches(match: str, method: str, path: str) -> bool:
    """True when a request falls under a rule's `match`."""
    if match == "all":
        return True
    if match == "writes":
        return method in WRITE_METHODS
    if match == "reads":
        return method in READ_METHODS
    want, _, prefix = match.partition(" ")
    return want in ("*", method) and path.startswith(prefix)


def parse_rule(data: object) -> tuple[Fault, int]:
    """A rule object -> (fault, count); ValueError names the bad field."""
    body = _object(data, "fault rule", _RULE_KEYS)
    count = body.get("count", 1)
    if not _is_int(count) or count < 1:
        raise ValueError("count: must be a positive integer")
    return _fault(body), count


def _fault(body: Mapping[str, Any]) -> Fault:
    kind = body.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}")
    status = body.get("status", DEFAULT_STATUS.get(kind, 0))
    if not _is_int(status) or (kind in DEFAULT_STATUS and not 200 <= status <= 599):
        raise ValueError("status: must be an HTTP status between 200 and 599")
    retry_after = body.get("retry_after", "1")
    if not isinstance(retry_after, (str, int)) or isinstance(retry_after, bool):
        raise ValueError("retry_after: must be a string or an integer")
    delay_ms = body.get("delay_ms", 1000)
    if not _is_int(delay_ms) or not 0 <= delay_ms <= 600_000:
        raise ValueError("delay_ms: must be an integer between 0 and 600000")
    match = _match(body.get("match", DEFAULT_MATCH.get(kind, "writes")))
    return Fault(kind, match, status, str(retry_after), delay_ms)


def _match(value: object) -> str:
    if value in ("writes", "reads", "all"):
        return str(value)
    method, _, prefix = value.partition(" ") if isinstance(value, str) else ("", "", "")
    if not (method.isalpha() or method == "*") or not prefix.startswith("/"):
        raise ValueError('match: must be "writes", "reads", "all" or "METHOD /path-prefix"')
    return f"{method.upper()} {prefix}"


class RandomFaults(NamedTuple):
    """Seeded random faults for soak tests."""

    rng: random.Random
    rate: float
    faults: tuple[Fault, ...]
    match: str


def parse_random(data: object) -> RandomFaults:
    """The value of {"random": ...}; ValueError names the bad field."""
    body = _object(data, "random", _RANDOM_KEYS)
    seed = body.get("seed", 0)
    rate = body.get("rate")
    if not _is_int(seed):
        raise ValueError("random.seed: must be an integer")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise ValueError("random.rate: must be a number between 0 and 1")
    kinds = body.get("kinds", [k for k in KINDS if k not in _NOT_RANDOM])
    if not isinstance(kinds, list) or not kinds:
        raise ValueError("random.kinds: must be a non-empty list")
    faults = tuple(
        _fault({"kind": k} if isinstance(k, str) else _object(k, "random.kinds", _KIND_KEYS))
        for k in kinds
    )
    return RandomFaults(
        random.Random(seed), float(rate), faults, _match(body.get("match", "writes"))
    )


class FaultBook:
    """The armed rules and the random mode; shared by the server thread and direct callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[tuple[Fault, int]] = []
        self._random: RandomFaults | None = None

    def add(self, data: object) -> None:
        """Arm a rule, a list of them ({"rules": [...]}), or random mode ({"random": {...}})."""
        if isinstance(data, dict) and "random" in data:
            self._set_random(parse_random(data["random"]))
            return
        rules = data.get("rules") if isinstance(data, dict) and "rules" in data else [data]
        if not isinstance(rules, list):
            raise ValueError("rules: must be a list")
        parsed = [parse_rule(rule) for rule in rules]
        with self._lock:
            self._rules.extend(parsed)

    def _set_random(self, mode: RandomFaults) -> None:
        with self._lock:
            self._random = mode

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._random = None

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any; a rule that fires loses one of its count."""
        with self._lock:
            for index, (fault, left) in enumerate(self._rules):
                if fault.matches(method, path):
                    self._consume(index, fault, left)
                    return fault
            return self._pick_random(method, path)

    def _consume(self, index: int, fault: Fault, left: int) -> None:
        if left > 1:
            self._rules[index] = (fault, left - 1)
        else:
            del self._rules[index]

    def _pick_random(self, method: str, path: str) -> Fault | None:
        mode = self._random
        if mode is None or not matches(mode.match, method, path):
            return None
        if mode.rng.random() >= mode.rate:
            return None
        return mode.rng.choice(mode.faults)

    def describe(self) -> dict[str, Any]:
        """The armed rules with what is left of their counts, for the stats endpoint."""
        with self._lock:
            rules = [{**fault._asdict(), "remaining": left} for fault, left in self._rules]
            mode = self._random
        random_mode = None if mode is None else {"rate": mode.rate, "match": mode.match}
        return {"rules": rules, "random": random_mode}


async def inject(fault: Fault, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one request through `app`, failing it as `fault` says."""
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay_ms / 1000)
        await app(scope, receive, send)
    elif fault.kind == "drop_after":
        await app(scope, receive, _cut_off(send))
    elif fault.kind == "duplicate_id":
        await app(scope, receive, _sharing_first_id(send))
    elif fault.kind == "error_after":
        await app(scope, receive, _discard)
        await error_response(fault)(scope, receive, send)
    else:
        # Receive the whole request first: closing a socket with unread request bytes would
        # reset the connection instead of ending it, and the client would see a different error.
        await drain_request(receive)
        cut = fault.kind == "drop_before"
        await error_response(fault)(scope, receive, _cut_off(send) if cut else send)


def error_response(fault: Fault) -> Response:
    """What a failing server or proxy answers: JSON from the API, HTML from a proxy."""
    phrase = _phrase(fault.status)
    if fault.kind == "html":
        page = _HTML_PAGE.format(status=fault.status, phrase=phrase)
        return HTMLResponse(page, status_code=fault.status)
    headers = {"Retry-After": fault.retry_after} if fault.kind == "rate_limit" else None
    body = {"success": False, "message": f"{phrase} (sandbox fault: {fault.kind})"}
    return JSONResponse(body, status_code=fault.status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _cut_off(send: Send) -> Send:
    """A send that lets the headers through, then half of the body, then drops the connection."""

    async def cut(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise ConnectionDropped("connection dropped by a sandbox fault")

    return cut


def _sharing_first_id(send: Send) -> Send:
    """A send that holds the answer back, gives its second listed mapping the first one's
    inbound_id, and sends it whole with the length corrected."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def rewrite(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = _share_first_id(b"".join(chunks))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    return rewrite


def _share_first_id(body: bytes) -> bytes:
    try:
        document = json.loads(body)
    except ValueError:
        return body
    rows = document.get("data") if isinstance(document, dict) else None
    if not isinstance(rows, list) or len(rows) < 2:
        return body
    first, second = rows[0], rows[1]
    if not (isinstance(first, dict) and isinstance(second, dict)):
        return body
    second["inbound_id"] = first.get("inbound_id")
    return json.dumps(document).encode()


async def drain_request(receive: Receive) -> None:
    """Read a request's whole body, so that an answer sent without it ends the exchange
    cleanly (a socket closed on unread bytes is reset)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _discard(message: Message) -> None:
    """The response of a request applied under error_after goes nowhere."""


def _object(data: object, where: str, allowed: frozenset[str] | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be an object")
    unknown = sorted(str(key) for key in data if allowed is not None and key not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
