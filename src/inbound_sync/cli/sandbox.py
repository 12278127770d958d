"""`sandbox serve`: run the local Inbound API server until Ctrl-C."""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING

from inbound_sync.errors import UsageError
from inbound_sync.output import write

if TYPE_CHECKING:
    from starlette.applications import Starlette

# inbound-sync is installed from its repository, not by name from a package index, so the hint
# names the two packages the extra adds rather than the extra.
_MISSING = (
    "The sandbox needs starlette and uvicorn (the 'sandbox' extra): pip install starlette uvicorn"
)


def run_serve(
    *,
    host: str,
    port: int,
    db: str,
    seed: str | None,
    latency_ms: int,
    admin_token: str | None,
    rate_limit: float | None = None,
) -> int:
    """Serve until Ctrl-C, logging the URL, the tenants' API keys and the admin token to stderr."""
    _require_extra()
    from inbound_sync.sandbox import is_loopback, serve_forever

    app = _create_app(db=db, seed=seed, latency_ms=latency_ms, admin_token=admin_token)
    controller = app.state.sandbox
    if rate_limit is not None:
        controller.set_rate_limit({"rate": rate_limit})

    def announce(url: str) -> None:
        write(format_banner(url, controller.api_keys(), controller.admin_token), err=True)
        if rate_limit is not None:
            write(f"  rate limit {rate_limit:g} requests per second per API key", err=True)
        if not is_loopback(host):
            write(f"Warning: listening on {host}, reachable from other machines.", err=True)

    try:
        serve_forever(app, host=host, port=port, on_ready=announce)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a sandbox is meant to stop.
    finally:
        controller.close()
    write("Sandbox stopped.", err=True)
    return 0


def _require_extra() -> None:
    """An install hint instead of a traceback when the optional extra is missing."""
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            raise UsageError(_MISSING)


def _create_app(
    *, db: str, seed: str | None, latency_ms: int, admin_token: str | None
) -> Starlette:
    from inbound_sync.sandbox import SeedError, create_app

    try:
        return create_app(db=db, seed=seed, latency_ms=latency_ms, admin_token=admin_token)
    except SeedError as exc:
        raise UsageError(f"invalid sandbox seed: {exc}") from None
    except sqlite3.Error as exc:
        raise UsageError(f"cannot open the sandbox database {db}: {exc}") from None


def format_banner(url: str, api_keys: Mapping[str, str], admin_token: str) -> str:
    """What a user needs to point the tool at the sandbox."""
    width = max((len(name) for name in api_keys), default=0)
    lines = [f"Sandbox listening on {url}  (Ctrl-C to stop)"]
    lines += [f"  tenant {name:<{width}}  API key {key}" for name, key in api_keys.items()]
    if not api_keys:
        lines.append("  no tenants yet: POST a seed to /_sandbox/seed")
    lines.append(f"  admin token {admin_token}  (Authorization: Bearer, for /_sandbox/)")
    return "\n".join(lines)
