"""The command line: `main(argv) -> int`, with every exception mapped to its exit code here."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import click

from inbound_sync.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    InboundSyncError,
    Terminated,
    exit_code_for_signal,
)
from inbound_sync.output import write

__all__ = ["entrypoint", "main"]


def _skip_httpx_cli() -> None:
    """Keep `import httpx` from importing httpx's own command-line tool, which this one never runs.

    httpx's __init__ imports httpx._main, and falls back to a stub `main` on ImportError, since
    the tool's dependencies (rich, pygments) are an optional extra of httpx. Where they are
    installed, that import loads both: about 50 ms of every command that reaches the network.
    A None in sys.modules makes the import fail at once (the import system's documented rule),
    so httpx takes its fallback either way. An httpx._main already imported is left alone.
    """
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


_skip_httpx_cli()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process and return the exit code; never raises, never shows a traceback."""
    try:
        from inbound_sync.cli.app import cli

        result = cli.main(
            args=list(argv) if argv is not None else None,
            standalone_mode=False,
            prog_name="inbound-sync",
        )
    except click.exceptions.Exit as exc:
        return _clamp(exc.exit_code)
    except click.ClickException as exc:
        # Usage errors exit 1, not click's 2: CI reads 2 as "changes pending".
        exc.show()
        return EXIT_ERROR
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; an interruption still exits 130, end of input exits 1.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            return _interrupted(cause)
        write("Aborted.", err=True)
        return EXIT_ERROR
    except InboundSyncError as exc:
        write(f"Error: {_shown(exc)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # the last resort: a bug must still not show users a traceback
        return _internal_error(exc)
    return result if isinstance(result, int) else 0


def _shown(exc: BaseException) -> str:
    """An error's message for the terminal: our line breaks kept, any control character in the
    data it quotes (a server's message, a YAML value) shown visibly."""
    from inbound_sync.render import escape

    return "\n".join(escape.text(line) for line in str(exc).split("\n"))


def _interrupted(exc: KeyboardInterrupt) -> int:
    signum = exc.signum if isinstance(exc, Terminated) else next(iter(_TERMINATED_BY), None)
    if signum is not None:
        write("Terminated.", err=True)
        return exit_code_for_signal(signum)
    write("Interrupted.", err=True)
    return EXIT_INTERRUPTED


def _internal_error(exc: Exception) -> int:
    if os.environ.get("INBOUND_SYNC_TRACEBACK"):
        import traceback  # here: only a bug needs it, and --help and --version start faster

        traceback.print_exception(exc)
    write(
        f"Internal error: {type(exc).__name__}: {_shown(exc)}\n"
        "This is a bug in inbound-sync; please report it "
        "(set INBOUND_SYNC_TRACEBACK=1 to see where it happened).",
        err=True,
    )
    return EXIT_ERROR


def _clamp(code: int) -> int:
    return EXIT_ERROR if code == 2 else code


def entrypoint() -> None:
    """The console script."""
    _tune_gc()
    _skip_pydantic_plugins()
    _terminate_like_interrupt()
    sys.exit(main())


def _terminate_like_interrupt() -> None:
    """SIGTERM and SIGHUP (a CI runner cancelling, a closed terminal) stop the run as Ctrl-C does.

    Apply installs its own handlers while it writes; elsewhere nothing has been written yet, and
    the signal ends the run with its exit code (143, 129) and no traceback.
    """

    def as_interrupt(signum: int, frame: FrameType | None) -> None:
        if not _TERMINATED_BY:
            _TERMINATED_BY.append(signum)
        # Whatever handles Ctrl-C at this moment handles this too: Python's own raises
        # KeyboardInterrupt, and asyncio.run's cancels the running task cleanly, where an
        # exception raised from here could land in a callback that only logs it.
        on_ctrl_c = signal.getsignal(signal.SIGINT)
        if callable(on_ctrl_c):
            on_ctrl_c(signal.SIGINT, frame)
        else:  # Ctrl-C is ignored here (a background job): stop all the same
            raise Terminated(signum)

    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, as_interrupt)


_TERMINATED_BY: list[int] = []
"""The SIGTERM or SIGHUP that the console script turned into an interrupt, if one came."""


def _tune_gc() -> None:
    """Run the cycle collector less often than CPython's default, for this one process.

    A plan of 100,000 numbers builds millions of small objects that live until exit, and at the
    default first threshold (700 allocations) the collector rescans them again and again: about
    a quarter of such a plan's CPU time. Collection stays on; young garbage waits for 50,000
    allocations (a few MB) instead of 700. Only the console script does this: code that calls
    main() in its own process (tests) keeps its own settings.
    """
    gc.set_threshold(50_000, 100, 100)


def _skip_pydantic_plugins() -> None:
    """Spare pydantic's search for plugins, for this one process.

    Before it builds its first model, pydantic looks for plugins (the `pydantic` entry point
    group) in the metadata of every installed distribution: 10 to 15 ms among 60 packages, more
    in a larger environment. The tool uses none. PYDANTIC_DISABLE_PLUGINS is pydantic's own
    switch; a value the user set is kept. Like _tune_gc, only the console script does this.
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
