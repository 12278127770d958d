"""What several commands share: connection options, the API client, formats and private files."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO, TypeVar

import click

from inbound_sync.errors import UsageError
from inbound_sync.output import write
from inbound_sync.render import FORMATS
from inbound_sync.vendor import PRODUCTION_URL

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
            "--api-url",
            metavar="URL",
            help=f"API base URL (default: $INBOUND_SYNC_API_URL, else {PRODUCTION_URL}).",
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


def positive(unit: str) -> Callable[[click.Context, click.Parameter, str | None], float | None]:
    """An option callback: a finite number greater than 0, fractions allowed, else a usage
    error naming the option and the value given (a rate, a duration)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        if value is None:
            return None
        number = positive_number(value)
        if number is None:
            raise click.BadParameter(
                f"{value!r} is not a number of {unit} greater than 0 (such as 2 or 0.5)",
                ctx,
                param,
            )
        return number

    return check


def positive_number(value: object) -> float | None:
    """`value` as a finite float greater than 0, or None (nan, inf, 0, -1, '', 'fast')."""
    if isinstance(value, float):
        number = value
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) and number > 0 else None


DEFAULT_TIMEOUT_TOTAL = 5 * 3600.0
"""Apply's deadline: five hours, more than 10,000 changes take at 50 requests a minute (the
lowest limit the telephony provider documents), and under the six hours a CI job may run."""
ENV_MAX_RATE = "INBOUND_SYNC_MAX_RATE"


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


def load_config(paths: Sequence[str], on_ready: Callable[[], None] | None = None) -> DesiredState:
    """config.load, with the worker processes INBOUND_SYNC_WORKERS asks for (default: by size);
    `on_ready` as for config.load (where a read of the account may start)."""
    from inbound_sync import config

    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if text and not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        # The value is not echoed: whatever it is, it is not a worker count.
        raise UsageError(f"{WORKERS_VARIABLE} must be a whole number from 1 to 64")
    return config.load(paths, workers=int(text) if text else None, on_ready=on_ready)


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
    # No hook at all when nobody listens: the client then builds no record of each request.
    listener = on_request if hooks else None
    return InboundClient.from_settings(settings, on_request=listener, **options)


STDOUT = "-"
"""As a value of --out: standard output instead of a file."""


def write_out(path: str, text: str, *, private: bool = False) -> None:
    """Write `text` to `path`, or to standard output for "-".

    Missing parent directories are created, and stderr says so. A private file is owner-only;
    either way an existing symlink at `path` is replaced, never followed.
    """
    if path == STDOUT:
        write(text, nl=False)
        return
    # pathlib and tempfile are imported where a file is written: --help and --version start
    # without them.
    from pathlib import Path

    parent = Path(path).parent
    if not parent.is_dir():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"cannot create the directory {parent}: {exc.strerror}") from None
        write(f"Created the directory {parent}", err=True)
    write_private(path, text, mode=0o600 if private else _default_mode())


def _default_mode() -> int:
    """What open() would give a new file under the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_private(path: str, text: str, *, mode: int = 0o600) -> None:
    """Write a file only its owner can read (plans and logs reveal the routing table).

    The whole text is written beside `path` and then renamed over it: a failure leaves the old
    file as it was, and an existing symlink at `path` is replaced, never followed.
    """
    with _temporary_beside(path) as (handle, temporary):
        handle.write(text)
        handle.flush()
        if mode != 0o600:
            os.chmod(temporary, mode)
        os.replace(temporary, path)


@contextlib.contextmanager
def private_file(path: str) -> Iterator[TextIO]:
    """A new owner-only file at `path`, open for writing as it goes (an audit log).

    Like write_private, it replaces a symlink at `path` instead of following it.
    """
    with _temporary_beside(path) as (handle, temporary):
        os.replace(temporary, path)
        yield handle


@contextlib.contextmanager
def _temporary_beside(path: str) -> Iterator[tuple[TextIO, str]]:
    """An owner-only (0600) temporary file in the directory of `path`, removed if left behind."""
    import tempfile
    from pathlib import Path

    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle, temporary
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def append_step_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        raise UsageError(f"cannot append to GITHUB_STEP_SUMMARY {target}: {exc.strerror}") from None
