"""/_sandbox/: the admin endpoints that set up, inspect and disturb a sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbound_sync.sandbox.store import REFERENCES, SeedError
from inbound_sync.sandbox.wire import ApiFailure, admin_view, json_object, nullable_text, ok

if TYPE_CHECKING:
    from inbound_sync.sandbox.app import Sandbox


class Admin:
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
        body = await json_object(request, allow_empty=True)
        reseed = body.get("seed", True)
        if not isinstance(reseed, bool):
            raise ApiFailure(400, "seed must be true or false")
        self.sandbox.reset(seed=reseed)
        return ok("Sandbox reset", {"tenants": sorted(self.sandbox.api_keys())})

    async def seed(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        body = await json_object(request)
        try:
            self.sandbox.seed(body)
        except SeedError as exc:
            raise ApiFailure(400, f"Invalid seed: {exc}") from None
        return ok("Seed loaded", {"tenants": sorted(self.sandbox.api_keys())})

    async def delete_strategy(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        strategy_id = request.path_params["strategy_id"]
        detached = self.sandbox.delete_strategy(strategy_id)
        return ok("Strategy deleted", {"strategy_id": strategy_id, "detached": detached})

    async def delete_assistant(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        assistant_id = request.path_params["assistant_id"]
        using = self.sandbox.delete_assistant(assistant_id)
        return ok("Assistant deleted", {"assistant_id": assistant_id, "mappings_using_it": using})

    async def latency(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        ms = (await json_object(request)).get("ms")
        if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
            raise ApiFailure(400, "ms must be an integer between 0 and 60000")
        self.sandbox.set_latency(ms)
        return ok("Latency set", {"ms": ms})

    async def rate_limit(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        try:
            self.sandbox.set_rate_limit(await json_object(request))
        except ValueError as exc:
            raise ApiFailure(400, f"Invalid rate limit: {exc}") from None
        return ok("Rate limit set", self.sandbox.limiter.describe())

    async def lift_rate_limit(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        self.sandbox.set_rate_limit(None)
        return ok("Rate limit lifted", None)

    async def add_faults(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        try:
            self.sandbox.add_fault(await json_object(request))
        except ValueError as exc:
            raise ApiFailure(400, f"Invalid fault rule: {exc}") from None
        return ok("Faults armed", self.sandbox.faults.describe())

    async def clear_faults(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        self.sandbox.clear_faults()
        return ok("Faults cleared", self.sandbox.faults.describe())

    async def stats(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        return ok("Sandbox stats", self.sandbox.stats())

    async def mappings(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        return ok("All mappings", [admin_view(m) for m in self.sandbox.all_mappings()])

    async def change_mapping(self, request: Request) -> Response:
        self.sandbox.authorize_admin(request)
        body = await json_object(request)
        changes = {name: nullable_text(body, name) for name in REFERENCES if name in body}
        mapping = self.sandbox.change_mapping(request.path_params["inbound_id"], changes)
        return ok("Mapping changed out of band", admin_view(mapping))
