"""Reading a fleet's accounts: concurrently, at most READS at once, each failure in its place."""

from __future__ import annotations

import asyncio

import httpx

from api_payloads import LIST_RESPONSE
from fleet_support import fleet_target
from inbound_sync.api import ApiKey, ConnectionSettings
from inbound_sync.api.retry import RetryPolicy
from inbound_sync.cli.common import Connection
from inbound_sync.cli.fleet import READS, Clients, read_accounts
from inbound_sync.errors import AuthError
from inbound_sync.plan import Snapshot

URL = "https://api.example.test"
CONN = Connection(api_url=None, api_key_file=None, allow_insecure_http=False, verbose=False)


class Tracker:
    """An API that lists one mapping per key and counts the lists in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        for _ in range(20):  # hand the loop to every other read that can start
            await asyncio.sleep(0)
        self.in_flight -= 1
        if request.headers["authorization"] == "Bearer refused":
            return httpx.Response(401, json={"detail": "Invalid API key"})
        return httpx.Response(200, text=LIST_RESPONSE)


def read(count: int, refused: set[str] = frozenset()) -> tuple[dict[str, object], Tracker]:
    tracker = Tracker()
    targets = [fleet_target(f"t{i:02d}") for i in range(count)]
    settings = {
        t.name: ConnectionSettings(
            URL, ApiKey("refused" if t.name in refused else f"key-{t.name}"), retry=RetryPolicy(1)
        )
        for t in targets
    }
    clients = Clients(CONN, settings, shared={URL: {"transport": httpx.MockTransport(tracker)}})
    return asyncio.run(read_accounts(targets, clients)), tracker


def test_lists_are_read_concurrently_and_at_most_reads_at_once():
    results, tracker = read(3 * READS)
    assert tracker.most == READS
    assert all(isinstance(r, Snapshot) and len(r.rows) == 1 for r in results.values())


def test_a_refused_read_is_returned_in_its_place_and_the_others_are_read():
    results, _ = read(3, refused={"t01"})
    assert isinstance(results["t01"], AuthError)
    assert isinstance(results["t00"], Snapshot)
    assert isinstance(results["t02"], Snapshot)
