"""Proxies from the environment: never for plain http://, as usual for https:// (NO_PROXY too).

Plain http:// is allowed to loopback only; a proxy on that path would be the one party to read
the Authorization header in the clear. A recording proxy on 127.0.0.1 answers every request it
gets with 502 and forwards nothing, so no test traffic leaves the machine.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbound_sync.api import ApiKey, InboundClient, RetryPolicy
from inbound_sync.errors import ConnectionFailed
from reliability_support import ACME_KEY, run_main, served

pytestmark = pytest.mark.socket

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")
PROXY_VARIABLES += ("all_proxy", "NO_PROXY", "no_proxy")


class RecordingProxy(socketserver.ThreadingTCPServer):
    """Records the request line of every connection and answers 502; forwards nothing."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        assert isinstance(self.server, RecordingProxy)
        self.server.lines.append(line)
        self.wfile.write(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = RecordingProxy()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with served() as (_controller, url):
        yield url


def _list(url: str) -> object:
    async def go() -> object:
        client = InboundClient(url, ApiKey(ACME_KEY), retry=RetryPolicy(attempts=1))
        async with client:
            return await client.list()

    return asyncio.run(go())


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_plain_http_goes_straight_to_the_loopback_server_past_any_proxy(
    proxy: RecordingProxy, sandbox_url: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    assert _list(sandbox_url) == ()
    assert proxy.lines == []


def test_the_cli_over_plain_http_ignores_the_proxies_too(
    proxy: RecordingProxy, sandbox_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in ("HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, proxy.url)
    monkeypatch.setenv("INBOUND_SYNC_API_URL", sandbox_url)
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    result = run_main("plan", str(config))
    assert result.code == 0, result.err
    assert proxy.lines == []


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_https_goes_through_the_proxy_of_the_environment(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    # The proxy refuses the tunnel: the client never resolves or reaches the host itself.
    with pytest.raises(ConnectionFailed, match="ProxyError"):
        _list("https://api.example.test")
    assert proxy.lines == ["CONNECT api.example.test:443 HTTP/1.1"]


def test_no_proxy_still_sends_https_straight_to_the_host(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(ConnectionFailed, match="ConnectError"):
        _list(f"https://127.0.0.1:{port}")
    assert proxy.lines == []
    monkeypatch.delenv("NO_PROXY")
    with pytest.raises(ConnectionFailed, match="ProxyError"):
        _list(f"https://127.0.0.1:{port}")
    assert proxy.lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
