"""Serving the sandbox with uvicorn: in a thread for tests, in the foreground for the CLI.

Both bind the listening socket themselves, so that port 0 yields a known free port before the
server starts, and the URL can be logged or yielded at once.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG

from inbound_sync.sandbox.faults import ConnectionDropped

_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 10.0


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one. OSError when the address is unusable."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def running_server(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` from a background thread; yields the base URL once it accepts connections."""
    listener = bind(host, port)
    # log_config=None leaves the process's logging alone (pytest owns it in tests).
    server = uvicorn.Server(_config(app, log_config=None))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="inbound-sync-sandbox", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
        yield url_of(listener)
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT)
        listener.close()


def serve_forever(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve `app` in the foreground until Ctrl-C; `on_ready(url)` runs once the port is bound."""
    listener = bind(host, port)
    try:
        server = uvicorn.Server(_config(app, log_config=_logging_config()))
        if on_ready is not None:
            on_ready(url_of(listener))
        server.run(sockets=[listener])
    finally:
        listener.close()


def _config(app: ASGIApp, *, log_config: dict[str, Any] | None) -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        http="h11",
        ws="none",
        lifespan="off",
        log_config=log_config,
        timeout_graceful_shutdown=5,
    )
    _quiet_dropped_connections()
    return config


def _logging_config() -> dict[str, Any]:
    """uvicorn's own logging, plus the sandbox's fault log on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["inbound_sync.sandbox"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


class _DroppedConnectionFilter(logging.Filter):
    """uvicorn logs an injected drop as a crash with a traceback; the sandbox logs it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def _quiet_dropped_connections() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedConnectionFilter) for f in logger.filters):
        logger.addFilter(_DroppedConnectionFilter())


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start within 10 s")
        time.sleep(0.01)
