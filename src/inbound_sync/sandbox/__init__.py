"""A local server of the vendor's Inbound API over SQLite: for demos, trying configs, and tests.

It implements the contract of shared/reference/inbound-api.md on its own and shares only the pure
`phone` helpers with the client side (it never imports api, plan, apply or config).

    store    SQLite tables; active numbers unique across tenants via a partial unique index;
             the seed format (tenants, API keys, assistants, strategies, mappings)
    app      the Starlette app: the five /inbound/ operations; create_app(), and the Sandbox
             controller at app.state.sandbox
    admin    the /_sandbox/ admin endpoints (reset, seed, faults, latency, rate limit, stats)
    wire     request bodies read and checked, answers and error bodies written
    faults   fault rules (errors, 429, HTML pages, dropped connections, slowness, random)
    ratelimit  a token bucket per API key answering 429 with Retry-After, as a vendor limits
             an account
    server   uvicorn serving: running_server() in a thread for tests, serve_forever() for the CLI

In-process use:

    app = create_app(seed="examples/sandbox-seed.yaml")
    transport = httpx.ASGITransport(app=app)
    app.state.sandbox.add_fault({"kind": "drop_after"})
"""

from inbound_sync.sandbox.app import Sandbox, create_app
from inbound_sync.sandbox.faults import KINDS, ConnectionDropped, Fault
from inbound_sync.sandbox.server import is_loopback, running_server, serve_forever
from inbound_sync.sandbox.store import InboundMapping, Seed, SeedError, parse_seed, read_seed
from inbound_sync.sandbox.wire import ApiFailure

__all__ = [
    "KINDS",
    "ApiFailure",
    "ConnectionDropped",
    "Fault",
    "InboundMapping",
    "Sandbox",
    "Seed",
    "SeedError",
    "create_app",
    "is_loopback",
    "parse_seed",
    "read_seed",
    "running_server",
    "serve_forever",
]
