"""Helpers for the sandbox tests: an in-process app, request helpers, a clock that tests move."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from inbound_sync.sandbox import Sandbox, create_app

T = TypeVar("T")

SEED_PATH = Path(__file__).resolve().parents[1] / "examples" / "sandbox-seed.yaml"
ACME = "sandbox-key-acme"
GLOBEX = "sandbox-key-globex"
ADMIN = "sandbox-admin"
SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
SALES = "de305d54-75b4-431b-adb2-eb6b9e546014"
CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
GLOBEX_ASSISTANT = "3b2f7c1e-9a4d-4e8b-8f6a-2d5c9e0a7b14"
GLOBEX_NUMBER = "+918044319999"
GLOBEX_MAPPING = "6a1e4c2b-0d3f-4b7a-9e58-c1f2a3b4d5e6"
BASE_URL = "http://sandbox"


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 3, 18, 11, 30, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def sandbox_app(**kwargs: Any) -> Iterator[Starlette]:
    """A sandbox seeded with examples/sandbox-seed.yaml unless told otherwise; closed at exit."""
    kwargs.setdefault("seed", SEED_PATH)
    app = create_app(**kwargs)
    try:
        yield app
    finally:
        controller(app).close()


def controller(app: Starlette) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox


def asgi_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def run(app: Starlette, scenario: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run an async scenario against the app in-process (no asyncio plugin here)."""

    async def main() -> T:
        async with asgi_client(app) as client:
            return await scenario(client)

    return asyncio.run(main())


def call(
    app: Starlette,
    method: str,
    path: str,
    *,
    key: str | None = ACME,
    json: object = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request in-process, authenticated with `key` (None: no Authorization header)."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, path, headers=headers, json=json, content=content)

    return run(app, scenario)


def admin(app: Starlette, method: str, path: str, json: object = None) -> httpx.Response:
    return call(app, method, path, key=ADMIN, json=json)


def assign_body(
    number: str, assistant: str = SUPPORT, strategy: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "assistant_id": assistant,
        "service": "exotel",
        "inbound_config": {"phone_number": number},
    }
    if strategy is not None:
        body["inbound_context_strategy_id"] = strategy
    return body


def assign(app: Starlette, number: str, **kwargs: Any) -> str:
    """Assign through the API and return the new inbound_id."""
    key = kwargs.pop("key", ACME)
    response = call(app, "POST", "/inbound/assign", key=key, json=assign_body(number, **kwargs))
    assert response.status_code == 200, response.text
    inbound_id: str = response.json()["data"]["inbound_id"]
    return inbound_id


def listed(app: Starlette, key: str = ACME) -> list[dict[str, Any]]:
    response = call(app, "GET", "/inbound/list", key=key)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def error(response: httpx.Response, status: int) -> str:
    """Assert the documented error shape and status; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert set(body) == {"success", "message"}
    message: str = body["message"]
    return message
