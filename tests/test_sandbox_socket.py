"""The sandbox over a real loopback socket, served by uvicorn from a background thread."""

from __future__ import annotations

import socket

import httpx
import pytest

from inbound_sync.sandbox import running_server
from inbound_sync.sandbox.server import bind
from sandbox_fixtures import ACME, assign_body, controller, sandbox_app

pytestmark = pytest.mark.socket


@pytest.fixture(scope="module")
def served():
    with sandbox_app() as app, running_server(app) as url:
        yield app, url


@pytest.fixture
def sandbox(served):
    app, _ = served
    controller(app).reset()
    return controller(app)


@pytest.fixture
def client(served, sandbox):
    _, url = served
    headers = {"Authorization": f"Bearer {ACME}"}
    with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
        yield client


def numbers(client):
    response = client.get("/inbound/list")
    assert response.status_code == 200
    return [row["phone_number"] for row in response.json()["data"]]


def assign(client, number="+918044319240"):
    return client.post("/inbound/assign", json=assign_body(number))


def test_the_url_is_loopback_on_a_free_port(served):
    _, url = served
    assert url.startswith("http://127.0.0.1:")
    assert int(url.rsplit(":", 1)[1]) > 0


def test_the_api_answers_over_the_socket(client):
    assert assign(client).status_code == 200
    assert numbers(client) == ["+918044319240"]


def test_drop_before_closes_the_connection_without_applying(client, sandbox):
    sandbox.add_fault({"kind": "drop_before"})
    with pytest.raises(httpx.RemoteProtocolError):
        assign(client)
    assert numbers(client) == []


def test_drop_after_closes_the_connection_after_applying(client, sandbox):
    sandbox.add_fault({"kind": "drop_after"})
    with pytest.raises(httpx.RemoteProtocolError):
        assign(client)
    assert numbers(client) == ["+918044319240"]


def test_error_after_answers_504_after_applying(client, sandbox):
    sandbox.add_fault({"kind": "error_after"})
    response = assign(client)
    assert response.status_code == 504
    assert response.json()["success"] is False
    assert numbers(client) == ["+918044319240"]


def test_rate_limit_sends_retry_after(client, sandbox):
    sandbox.add_fault({"kind": "rate_limit", "retry_after": "3"})
    response = assign(client)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert numbers(client) == []


def test_slow_triggers_a_client_read_timeout(client, sandbox):
    sandbox.add_fault({"kind": "slow", "delay_ms": 300, "match": "reads"})
    with pytest.raises(httpx.ReadTimeout):
        client.get("/inbound/list", timeout=0.05)


def test_the_server_stops_and_frees_its_port():
    with sandbox_app() as app:
        with running_server(app) as url:
            port = int(url.rsplit(":", 1)[1])
            assert httpx.get(f"{url}/inbound/list").status_code == 401
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass


@pytest.mark.soak
def test_random_faults_never_break_the_server_or_the_data(client, sandbox):
    kinds = ["error_before", "error_after", "rate_limit", "html", "drop_before", "drop_after"]
    sandbox.add_fault({"random": {"seed": 3, "rate": 0.5, "kinds": kinds}})
    statuses = set()
    for i in range(40):
        try:
            statuses.add(assign(client, f"+9180443192{i:02d}").status_code)
        except httpx.TransportError:
            statuses.add("dropped")
    assert statuses <= {200, 502, 503, 504, 429, "dropped"}
    assert {200, "dropped"} <= statuses
    stats = sandbox.stats()
    listed = numbers(client)
    # Exactly the writes the server applied are listed, whatever the client saw.
    assert len(listed) == stats["writes"] == len(set(listed))


def test_the_listening_socket_is_tcp_so_responses_are_not_delayed_by_nagle():
    # asyncio sets TCP_NODELAY on accepted connections only for an explicit IPPROTO_TCP.
    with bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
