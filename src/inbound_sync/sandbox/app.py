"""The Starlette app: the five operations of the Inbound API (admin endpoints: admin.py).

Responses follow the reference document field for field. Where it is silent, the sandbox assumes:
success is HTTP 200; every error body is {"success": false, "message": "..."}; a PATCH with no
known field changes nothing and still succeeds; unknown request fields are ignored.
"""

from __future__ import annotations

import asyncio
import hmac
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

from inbound_sync.sandbox.admin import Admin
from inbound_sync.sandbox.faults import FaultBook, drain_request, inject
from inbound_sync.sandbox.ratelimit import RateLimiter, parse_rate_limit
from inbound_sync.sandbox.store import (
    REFERENCES,
    Clock,
    InboundMapping,
    Seed,
    Store,
    StoreError,
    parse_seed,
    read_seed,
    utc_now,
)
from inbound_sync.sandbox.wire import (
    ApiFailure,
    assigned,
    bearer,
    json_object,
    listed,
    new_mapping,
    nullable_text,
    ok,
    on_failure,
    references,
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
        key = bearer(request)
        tenant = self.store.tenant_for_key(key) if key else None
        if tenant is None:
            raise ApiFailure(401, "Invalid or missing API key")
        return tenant

    def authorize_admin(self, request: Request) -> None:
        key = bearer(request) or ""
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
        routes=[*_Api(sandbox).routes(), *Admin(sandbox).routes()],
        middleware=[Middleware(_Traffic, sandbox=sandbox)],
        exception_handlers={
            ApiFailure: on_failure,
            StoreError: on_failure,
            HTTPException: on_failure,
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
        new = new_mapping(await json_object(request))
        mapping = self.sandbox.store.assign(tenant, new)
        self.sandbox.counters.write()
        return ok("Inbound number assigned successfully", assigned(mapping))

    async def update(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        body = await json_object(request)
        changes = {name: nullable_text(body, name) for name in REFERENCES if name in body}
        mapping = self.sandbox.store.update(tenant, request.path_params["inbound_id"], changes)
        self.sandbox.counters.write()
        return ok("Inbound number mapping updated successfully", references(mapping))

    async def detach(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        mapping = self.sandbox.store.detach(tenant, request.path_params["inbound_id"])
        self.sandbox.counters.write()
        return ok("Inbound number detached successfully", references(mapping))

    async def delete(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        inbound_id = request.path_params["inbound_id"]
        self.sandbox.store.delete(tenant, inbound_id)
        self.sandbox.counters.write()
        return ok("Inbound number deleted successfully", {"inbound_id": inbound_id})

    async def list_numbers(self, request: Request) -> Response:
        tenant = self.sandbox.tenant(request)
        mappings = self.sandbox.store.list_active(tenant)
        return ok("Inbound numbers retrieved successfully", [listed(m) for m in mappings])
