"""End-to-end helpers: the real client and executor against the sandbox, in-process or on a socket."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette

from inbound_sync.api import ApiKey, InboundClient, RetryPolicy
from inbound_sync.apply import ApplyReport, ClientAccount, Settings, apply_plan
from inbound_sync.config import DesiredState
from inbound_sync.plan import Plan, Policy, Snapshot, make_plan

ACME = "sandbox-key-acme"


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def client_for(
    app: Starlette | None = None, url: str = "http://sandbox", key: str = ACME, **options: Any
) -> InboundClient:
    """A client on the ASGI transport (app given) or over a socket (url given); no real backoff."""
    transport = httpx.ASGITransport(app=app) if app is not None else None
    options.setdefault("sleep", no_sleep)
    options.setdefault("retry", RetryPolicy(attempts=5, base_delay=0.0, max_delay=0.0))
    return InboundClient(url, ApiKey(key), transport=transport, **options)


async def plan_and_apply(
    client: InboundClient,
    desired: DesiredState,
    *,
    concurrency: int = 8,
    stop: asyncio.Event | None = None,
) -> tuple[Plan, ApplyReport]:
    account = ClientAccount(client)
    plan = make_plan(
        desired, await account.snapshot(), Policy(desired.safety, allow_destructive=True)
    )
    report = await apply_plan(
        account, plan, desired, Settings(concurrency=concurrency, reread_window=0.01), stop=stop
    )
    return plan, report


def converge(
    app: Starlette | None, desired: DesiredState, url: str = "http://sandbox", **kw: Any
) -> tuple[Plan, ApplyReport]:
    async def main() -> tuple[Plan, ApplyReport]:
        async with client_for(app, url) as client:
            return await plan_and_apply(client, desired, **kw)

    return asyncio.run(main())


def snapshot_of(app: Starlette | None, url: str = "http://sandbox") -> Snapshot:
    async def main() -> Snapshot:
        async with client_for(app, url) as client:
            return await ClientAccount(client).snapshot()

    return asyncio.run(main())


def bindings(snapshot: Snapshot) -> dict[str, tuple[str | None, str | None]]:
    return {r.normalized: (r.assistant_id, r.strategy_id) for r in snapshot.rows}
