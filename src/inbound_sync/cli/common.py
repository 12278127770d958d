"""What several commands share: connection options, the API client, formats and private files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from inbound_sync.errors import UsageError
from inbound_sync.output import write
from inbound_sync.render import FORMATS

if TYPE_CHECKING:
    from inbound_sync.api import ConnectionSettings, InboundClient
    from inbound_sync.config import DesiredState

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class Connection(NamedTuple):
    """How to reach the API, as given on the command line (the key itself is read later)."""

    api_url: str | None
    api_key_file: str | None
    allow_insecure_http: bool
    verbose: bool


def api_options(func: F) -> F:
    """--api-url, --api-key-file, --allow-insecure-http and --verbose, gathered into `conn`."""
    options = [
        click.option(
            "--api-url", metavar="URL", help="API base URL (default: $INBOUND_SYNC_API_URL)."
        ),
        click.option(
            "--api-key-file",
            metavar="PATH",
            help="File holding the API key (default: $INBOUND_SYNC_API_KEY).",
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Allow plain http:// to a non-loopback host.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log each API request to stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def connection(kwargs: dict[str, Any]) -> Connection:
    """Pop the connection options out of a command's keyword arguments."""
    return Connection(
        api_url=kwargs.pop("api_url"),
        api_key_file=kwargs.pop("api_key_file"),
        allow_insecure_http=kwargs.pop("allow_insecure_http"),
        verbose=kwargs.pop("verbose"),
    )


def format_option(default: str = "text") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="Output format.",
    )


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    import asyncio  # here, not at the top: importing it costs --help and --version ~40 ms

    # The result leaves through `box`, not as the main task's result: on its way out,
    # asyncio.run formats the repr of its Ctrl-C handler, and so of the task with its result
    # (Python 3.11), which for a snapshot of 100,000 rows took half a second.
    box: list[T] = []

    async def main() -> None:
        box.append(await coroutine)

    asyncio.run(main())
    return box[0]


WORKERS_VARIABLE = "INBOUND_SYNC_WORKERS"


def load_config(paths: Sequence[str]) -> DesiredState:
    """config.load, with the worker processes INBOUND_SYNC_WORKERS asks for (default: by size)."""
    from inbound_sync import config

    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if text and not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        # The value is not echoed: whatever it is, it is not a worker count.
        raise UsageError(f"{WORKERS_VARIABLE} must be a whole number from 1 to 64")
    return config.load(paths, workers=int(text) if text else None)


def settings_for(conn: Connection) -> ConnectionSettings:
    """URL and key from flags and environment; raises UsageError naming what is missing."""
    from inbound_sync.api import ConnectionSettings

    return ConnectionSettings.from_sources(
        api_url=conn.api_url,
        api_key_file=conn.api_key_file,
        allow_insecure_http=conn.allow_insecure_http,
        environ=os.environ,
    )


def open_client(conn: Connection, settings: ConnectionSettings, **options: Any) -> InboundClient:
    """An InboundClient for `settings`; request hooks log to stderr with --verbose, and every wait
    before a retry is announced on stderr, so that a slow run always says what it waits for."""
    from inbound_sync.api import (
        InboundClient,
        RequestRecord,
        WaitNotice,
        format_wait,
        verbose_logger,
    )

    hooks: list[Callable[[RequestRecord], None]] = []
    if conn.verbose:
        hooks.append(verbose_logger(sys.stderr))
    if extra := options.pop("on_request", None):
        hooks.append(extra)

    def on_request(record: RequestRecord) -> None:
        for hook in hooks:
            hook(record)

    def on_wait(notice: WaitNotice) -> None:
        write(format_wait(notice), err=True)

    options.setdefault("on_wait", on_wait)
    return InboundClient.from_settings(settings, on_request=on_request, **options)


def write_private(path: str, text: str) -> None:
    """Write a file only its owner can read (plans and logs reveal the routing table)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def append_step_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        raise UsageError(f"cannot append to GITHUB_STEP_SUMMARY {target}: {exc.strerror}") from None
