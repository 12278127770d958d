"""A client wired to a respx router, a fake clock and sleep, and a record of every attempt."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
import pytest
import respx

from inbound_sync.api import ApiKey, InboundClient, RequestRecord

T = TypeVar("T")

BASE = "https://api.example.test"
KEY = "sk-CANARY-7c1e9f0b4d2a-DO-NOT-LEAK"
START = datetime(2026, 3, 18, 11, 30, tzinfo=timezone.utc)

Op = Callable[[InboundClient], Awaitable[Any]]


class MaxJitter(random.Random):
    """Always the top of the jitter range, so that waits are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Harness:
    """One client against a respx router; sleeps advance a fake clock instead of waiting."""

    def __init__(self, **options: Any) -> None:
        self.router = respx.Router(base_url=BASE, assert_all_called=False)
        self.sleeps: list[float] = []
        self.now = START
        self.records: list[RequestRecord] = []
        self.options: dict[str, Any] = {"rng": MaxJitter(), **options}

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def client(self) -> InboundClient:
        return InboundClient(
            BASE,
            ApiKey(KEY),
            transport=httpx.MockTransport(self.router.async_handler),
            **{
                "sleep": self.sleep,
                "clock": lambda: self.now,
                "on_request": self.records.append,
                **self.options,
            },
        )

    def run(self, op: Callable[[InboundClient], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.client() as client:
                return await op(client)

        return asyncio.run(go())

    def fails(self, op: Op, expected: type[BaseException]) -> Any:
        with pytest.raises(expected) as info:
            self.run(op)
        return info.value

    @property
    def calls(self) -> int:
        return len(self.router.calls)


def list_op(client: InboundClient) -> Awaitable[Any]:
    return client.list()


def assign_op(client: InboundClient) -> Awaitable[Any]:
    return client.assign(phone_number="+918044319240", assistant_id="a-1")


def update_op(client: InboundClient) -> Awaitable[Any]:
    return client.update("m-1", assistant_id="a-2")


def detach_op(client: InboundClient) -> Awaitable[Any]:
    return client.detach("m-1")


def delete_op(client: InboundClient) -> Awaitable[Any]:
    return client.delete("m-1")


# (name, HTTP method, path, operation) of each write, for tests that cover all four
WRITES = [
    ("assign", "POST", "/inbound/assign", assign_op),
    ("update", "PATCH", "/inbound/update/m-1", update_op),
    ("detach", "POST", "/inbound/detach/m-1", detach_op),
    ("delete", "DELETE", "/inbound/delete/m-1", delete_op),
]

OK_BODIES = {
    "list": {"success": True, "data": []},
    "assign": {
        "success": True,
        "data": {"inbound_id": "m-1", "phone_number_normalized": "918044319240"},
    },
    "update": {"success": True, "data": {"inbound_id": "m-1", "assistant_id": "a-2"}},
    "detach": {"success": True, "data": {"inbound_id": "m-1"}},
    "delete": {"success": True, "data": {"inbound_id": "m-1"}},
}


def route(h: Harness, method: str, path: str) -> respx.Route:
    return h.router.route(method=method, path=path)
