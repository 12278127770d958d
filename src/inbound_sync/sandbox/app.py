"""The Starlette app: the five operations of the Inbound API, and the /_sandbox/ admin endpoints.

Responses follow the reference document field for field. Where it is silent, the sandbox assumes:
success is HTTP 200; every error body is {"success": false, "message": "..."}; a PATCH with no
known field changes nothing and still succeeds; unknown request fields are ignored.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from inbound_sync.phone import PhoneError, normalize
from inbound_sync.sandbox.faults import FaultBook, drain_request, inject
from inbound_sync.sandbox.ratelimit import RateLimiter, parse_rate_limit
from inbound_sync.sandbox.store import (
    REFERENCES,
    REGION,
    SERVICE,
    Clock,
    Conflict,
    InboundMapping,
    NewMapping,
    NotFound,
    Seed,
    SeedError,
    Store,
    StoreError,
    parse_seed,
    read_seed,
    utc_now,
)

_log = logging.getLogger("inbound_sync.sandbox")

API_ROUTES = (
    ("POST", "/inbound/assign"),
    ("PATCH", "/inbound/update/{inbound_id}"),
    ("POST", "/inbound/detach/{inbound_id}"),
    ("DELETE", "/inbound/delete/{inbound_id}"),
    ("GET", "/inbound/list"),
)
_ROUTE_PATTERNS = tuple((compile_path(path)[0], path) for _, path in API_ROUTES)
_STORE_STATUS: dict[type[Exception], int] = {NotFound: 404, Conflict: 409}


class ApiFailure(Exception):
    """An error answer: the status and the message of the JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Counters:
    """What the stats endpoint reports: requests by route, writes applied, faults by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._limited: Counter[str] = Counter()
        self._writes = 0

    def request(self, route: str) -> None:
        with self._lock:
            self._requests[route] += 1

    def limited(self, route: str) -> None:
        with self._lock:
            self._limited[route] += 1

    def write(self) -> None:
        with self._lock:
            self._writes += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._limited.clear()
            self._writes = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "writes": self._writes,
                "faults": dict(sorted(self._faults.items())),
                "rate_limited": dict(sorted(self._limited.items())),
            }


class Sandbox:
    """The controller at `app.state.sandbox`: tests call it directly, admin routes over HTTP."""

    def __init__(
        self, store: Store, *, seed: Seed | None, admin_token: str, latency_ms: int
    ) -> None:
        self.store = store
        self.initial_seed = seed
        self.admin_token = admin_token
        self.latency_ms = latency_ms
        self.faults = FaultBook()
        self.counters = Counters()
        self.limiter = RateLimiter()

    def reset(self, *, seed: bool = True) -> None:
        """Empty the data, faults and counters, and refill the rate limit's buckets (the limit
        stays, as the latency does); reload the initial seed unless seed=False."""
        self.store.clear()
        self.faults.clear()
        self.counters.clear()
        self.limiter.refill()
        if seed and self.initial_seed is not None:
            self.store.load(self.initial_seed)

    def seed(self, document: object) -> None:
        """Add a seed document (dict or Seed) to the current data, all or nothing."""
        self.store.load(document if isinstance(document, Seed) else parse_seed(document))

    def delete_strategy(self, strategy_id: str) -> int:
        """Delete a strategy, detaching it from active mappings; returns how many were detached."""
        return self.store.delete_strategy(strategy_id)

    def delete_assistant(self, assistant_id: str) -> int:
        """Delete an assistant; mappings using it stay listed (returns how many)."""
        return self.store.delete_assistant(assistant_id)

    def add_fault(self, rule: object) -> None:
        """Arm a fault rule, {"rules": [...]} or {"random": {...}} (see `faults`)."""
        self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, ms: int) -> None:
        self.latency_ms = ms

    def set_rate_limit(self, limit: object | None) -> None:
        """Limit each API key's requests ({"rate": ..., "burst": ..., "retry_after": ...}, see
        `ratelimit`); None lifts the limit. ValueError names a bad field."""
        self.limiter.set(None if limit is None else parse_rate_limit(limit))

    def stats(self) -> dict[str, Any]:
        return {
            **self.counters.snapshot(),
            "latency_ms": self.latency_ms,
            "rate_limit": self.limiter.describe(),
            "armed": self.faults.describe(),
        }

    def all_mappings(self) -> list[InboundMapping]:
        return self.store.all_mappings()

    def change_mapping(self, inbound_id: str, changes: Mapping[str, str | None]) -> InboundMapping:
        """Edit a mapping's assistant or strategy behind the API's back, as drift does."""
        return self.store.set_references(inbound_id, changes)

    def api_keys(self) -> dict[str, str]:
        return self.store.api_keys()

    def tenant(self, request: Request) -> str:
        """The tenant of the request's bearer key, or a 401."""
        key = _bearer(request)
        tenant = self.store.tenant_for_key(key) if key else None
        if tenant is None:
            raise ApiFailure(401, "Invalid or missing API key")
        return tenant

    def authorize_admin(self, request: Request) -> None:
        key = _bearer(request) or ""
        if not hmac.compare_digest(key.encode(), self.admin_token.encode()):
            raise ApiFailure(401, "Invalid or missing sandbox admin token")

    def close(self) -> None:
        self.store.close()


def create_app(
    *,
    db: str | Path = ":memory:",
    seed: Mapping[str, Any] | str | Path | None = None,
    admin_token: str | None = None,
    latency_ms: int = 0,
    clock: Clock | None = None,
    rate_limit: Mapping[str, Any] | None = None,
) -> Starlette:
    """A sandbox over `db`; the seed fills an empty database (an existing file keeps its data).

    `rate_limit` limits each API key's requests from the start (see `ratelimit`)."""
    initial = _read_seed(seed)
    store = Store(db, clock=clock or utc_now)
    try:
        if initial is not None and store.is_empty():
            store.load(initial)
    except BaseException:
        store.close()
        raise
    token = admin_token or (initial.admin_token if initial else None) or secrets.token_urlsafe(16)
    sandbox = Sandbox(store, seed=initial, admin_token=token, latency_ms=latency_ms)
    if rate_limit is not None:
        sandbox.set_rate_limit(dict(rate_limit))
    app = Starlette(
        routes=[*_Api(sandbox).routes(), *_Admin(sandbox).routes()],
        middleware=[Middleware(_Traffic, sandbox=sandbox)],
        exception_handlers={
            ApiFailure: _on_failure,
            StoreError: _on_failure,
            HTTPException: _on_failure,
        },
    )
    app.state.sandbox = sandbox
    return app


def _read_seed(seed: Mapping[str, Any] | str | Path | None) -> Seed | None:
    if seed is None:
        return None
    if isinstance(seed, (str, Path)):
        return read_seed(seed)
    return parse_seed(dict(seed))


class _Traffic:
    """Counts, delays, rate-limits and faults API requests; admin requests pass through
    untouched."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/inbound" or path.startswith("/inbound/")):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        self.sandbox.counters.request(f"{method} {_route_of(path)}")
        if self.sandbox.latency_ms:
            # Non-blocking, so that concurrent requests overlap as they would on a real server.
            await asyncio.sleep(self.sandbox.latency_ms / 1000)
        wait = self.sandbox.limiter.check(_scope_bearer(scope))
        if wait is not None:
            self.sandbox.counters.limited(f"{method} {_route_of(path)}")
            await drain_request(receive)
            await _too_many(wait)(scope, receive, send)
            return
        fault = self.sandbox.faults.pick(method, path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.sandbox.counters.fault(fault.kind)
        _log.info("sandbox fault %s on %s %s", fault.kind, method, path)
        await inject(fault, self.app, scope, receive, send)


def _scope_bearer(scope: Scope) -> str:
    """The bearer key of a request, read from its ASGI scope: the rate limit's bucket."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def _too_many(retry_after: str) -> Response:
    body = {"success": False, "message": "Too Many Requests (sandbox rate limit)"}
    return JSONResponse(body, status_code=429, headers={"Retry-After": retry_after})


def _route_of(path: str) -> str:
    return next((template for regex, template in _ROUTE_PATTERNS if regex.match(path)), path)


class _Api:
    """The five documented operations, for the tenant of the bearer key."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        endpoints = (self.assign, self.update, self.detach, self.delete, self.list_numbers)
        return [
            Route(path, endpoint, methods=[method])
            for (method, path), endpoint in zip(API_ROUTES, endpoints, strict=True)
        ]

    async def assign(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        new = _new_mapping(await _json_object(request))
        mapping = self.sandbox.store.assign(tenant, new)
        self.sandbox.counters.write()
        return _ok("Inbound number assigned successfully", _assigned(mapping))

    async def update(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        body = await _json_object(request)
        changes = {name: _nullable_text(body, name) for name in REFERENCES if name in body}
        mapping = self.sandbox.store.update(tenant, request.path_params["inbound_id"], changes)
        self.sandbox.counters.write()
        return _ok("Inbound number mapping updated successfully", _references(mapping))

    async def detach(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        mapping = self.sandbox.store.detach(tenant, request.path_params["inbound_id"])
        self.sandbox.counters.write()
        return _ok("Inbound number detached successfully", _references(mapping))

    async def delete(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        inbound_id = request.path_params["inbound_id"]
        self.sandbox.store.delete(tenant, inbound_id)
        self.sandbox.counters.write()
        return _ok("Inbound number deleted successfully", {"inbound_id": inbound_id})

    async def list_numbers(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        mappings = self.sandbox.store.list_active(tenant)
        return _ok("Inbound numbers retrieved successfully", [_listed(m) for m in mappings])


class _Admin:
    """/_sandbox/: state control for tests and demos, behind the admin token."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/seed", self.seed, methods=["POST"]),
            Route("/_sandbox/strategies/{strategy_id}", self.delete_strategy, methods=["DELETE"]),
            Route("/_sandbox/assistants/{assistant_id}", self.delete_assistant, methods=["DELETE"]),
            Route("/_sandbox/latency", self.latency, methods=["POST"]),
            Route("/_sandbox/rate-limit", self.rate_limit, methods=["POST"]),
            Route("/_sandbox/rate-limit", self.lift_rate_limit, methods=["DELETE"]),
            Route("/_sandbox/faults", self.add_faults, methods=["POST"]),
            Route("/_sandbox/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sandbox/stats", self.stats, methods=["GET"]),
            Route("/_sandbox/mappings", self.mappings, methods=["GET"]),
            Route("/_sandbox/mappings/{inbound_id}", self.change_mapping, methods=["PATCH"]),
        ]

    async def reset(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        body = await _json_object(request, allow_empty=True)
        reseed = body.get("seed", True)
        if not isinstance(reseed, bool):
            raise ApiFailure(400, "seed must be true or false")
        self.sandbox.reset(seed=reseed)
        return _ok("Sandbox reset", {"tenants": sorted(self.sandbox.api_keys())})

    async def seed(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        body = await _json_object(request)
        try:
            self.sandbox.seed(body)
        except SeedError as exc:
            raise ApiFailure(400, f"Invalid seed: {exc}") from None
        return _ok("Seed loaded", {"tenants": sorted(self.sandbox.api_keys())})

    async def delete_strategy(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        strategy_id = request.path_params["strategy_id"]
        detached = self.sandbox.delete_strategy(strategy_id)
        return _ok("Strategy deleted", {"strategy_id": strategy_id, "detached": detached})

    async def delete_assistant(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        assistant_id = request.path_params["assistant_id"]
        using = self.sandbox.delete_assistant(assistant_id)
        return _ok("Assistant deleted", {"assistant_id": assistant_id, "mappings_using_it": using})

    async def latency(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        ms = (await _json_object(request)).get("ms")
        if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
            raise ApiFailure(400, "ms must be an integer between 0 and 60000")
        self.sandbox.set_latency(ms)
        return _ok("Latency set", {"ms": ms})

    async def rate_limit(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        try:
            self.sandbox.set_rate_limit(await _json_object(request))
        except ValueError as exc:
            raise ApiFailure(400, f"Invalid rate limit: {exc}") from None
        return _ok("Rate limit set", self.sandbox.limiter.describe())

    async def lift_rate_limit(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        self.sandbox.set_rate_limit(None)
        return _ok("Rate limit lifted", None)

    async def add_faults(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        try:
            self.sandbox.add_fault(await _json_object(request))
        except ValueError as exc:
            raise ApiFailure(400, f"Invalid fault rule: {exc}") from None
        return _ok("Faults armed", self.sandbox.faults.describe())

    async def clear_faults(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        self.sandbox.clear_faults()
        return _ok("Faults cleared", self.sandbox.faults.describe())

    async def stats(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        return _ok("Sandbox stats", self.sandbox.stats())

    async def mappings(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        return _ok("All mappings", [_admin_view(m) for m in self.sandbox.all_mappings()])

    async def change_mapping(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        body = await _json_object(request)
        changes = {name: _nullable_text(body, name) for name in REFERENCES if name in body}
        mapping = self.sandbox.change_mapping(request.path_params["inbound_id"], changes)
        return _ok("Mapping changed out of band", _admin_view(mapping))


# -- request parsing ---------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if allow_empty and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiFailure(400, "Request body must be valid JSON") from None
    if not isinstance(data, dict):
        raise ApiFailure(400, "Request body must be a JSON object")
    return data


def _new_mapping(body: dict[str, Any]) -> NewMapping:
    """Validate an assign request; the stored config gets its type injected from the service."""
    service = _required_text(body, "service")
    if service != SERVICE:
        raise ApiFailure(400, f"Unsupported service: {service} (supported: {SERVICE})")
    assistant_id = _required_text(body, "assistant_id")
    strategy_id = _nullable_text(body, "inbound_context_strategy_id")
    config = body.get("inbound_config")
    if not isinstance(config, dict):
        raise ApiFailure(400, "inbound_config is required and must be an object")
    # The contract injects the type only when it is omitted; an explicit null is not omitted.
    if "type" in config and config["type"] != service:
        raise ApiFailure(400, "inbound_config.type must match service")
    number = _required_text(config, "phone_number", prefix="inbound_config.")
    try:
        normalized = normalize(number, REGION, allow_unverified=True).normalized
    except PhoneError as exc:
        raise ApiFailure(400, f"Invalid inbound phone number: {exc}") from None
    stored = {"type": service, **{k: v for k, v in config.items() if k != "type"}}
    return NewMapping(number, normalized, stored, assistant_id, strategy_id)


def _required_text(body: dict[str, Any], name: str, *, prefix: str = "") -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiFailure(400, f"{prefix}{name} is required and must be a non-empty string")
    return value


def _nullable_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ApiFailure(400, f"{name} must be a non-empty string or null")
    return value


# -- responses ------------------------------------------------------------------------------


def _ok(message: str, data: object) -> JSONResponse:
    return JSONResponse({"success": True, "message": message, "data": data})


async def _on_failure(request: Request, exc: Exception) -> Response:
    """Every error, ours or Starlette's (404, 405), as the API's JSON error body."""
    headers = None
    if isinstance(exc, ApiFailure):
        status, message = exc.status, exc.message
    elif isinstance(exc, HTTPException):
        status, message, headers = exc.status_code, exc.detail, exc.headers
    else:
        status, message = _STORE_STATUS.get(type(exc), 400), str(exc)
    return JSONResponse({"success": False, "message": message}, status_code=status, headers=headers)


def _assigned(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "phone_number": m.phone_number,
        "phone_number_normalized": m.phone_number_normalized,
        "assistant_id": m.assistant_id,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
        "inbound_context_strategy_name": m.inbound_context_strategy_name,
        "service": m.service,
        "inbound_config": m.inbound_config,
    }


def _references(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "assistant_id": m.assistant_id,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
    }


def _listed(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "phone_number": m.phone_number,
        "phone_number_normalized": m.phone_number_normalized,
        "inbound_config": m.inbound_config,
        "assistant_id": m.assistant_id,
        "assistant_name": m.assistant_name,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
        "inbound_context_strategy_name": m.inbound_context_strategy_name,
        "service": m.service,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def _admin_view(m: InboundMapping) -> dict[str, Any]:
    return {**_listed(m), "tenant": m.tenant, "active": m.active}
