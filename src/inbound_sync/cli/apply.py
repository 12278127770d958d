"""`apply`: plan (or read a saved plan), get approval, run the changes, verify, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import click

from inbound_sync.api import ConnectionSettings, RequestRecord
from inbound_sync.apply import ApplyReport, ClientAccount, Outcome, Settings, apply_plan
from inbound_sync.apply.undo import undo_state
from inbound_sync.cli.common import (
    Connection,
    append_step_summary,
    load_config,
    open_client,
    private_file,
    settings_for,
    write_private,
)
from inbound_sync.config import DesiredState
from inbound_sync.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    PlanRefused,
    StalePlan,
    UsageError,
    exit_code_for_signal,
)
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Plan, Policy, Snapshot, make_plan
from inbound_sync.plan.saved import (
    SavedPlan,
    dumps,
    plan_document,
    read_saved,
    stale_differences,
)
from inbound_sync.render import escape, text
from inbound_sync.render import report as render_report


class Options(NamedTuple):
    plan_file: str | None
    auto_approve: bool
    allow_destructive: bool
    concurrency: int
    fmt: str
    log_file: str | None
    undo_out: str | None


class Prepared(NamedTuple):
    desired: DesiredState
    policy: Policy
    plan: Plan


def run_apply(paths: Sequence[str], conn: Connection, options: Options) -> int:
    if options.plan_file and paths:
        raise UsageError("give config PATHS or --plan FILE, not both")
    if options.plan_file and options.allow_destructive:
        raise UsageError(
            "--allow-destructive is recorded in the saved plan; make the plan again with it"
        )
    settings = settings_for(conn)
    # Every input is checked before the first request: a bad file never costs a network call,
    # and an undo plan that cannot be saved is found before the changes it would undo.
    saved = _read_plan_file(options.plan_file, settings) if options.plan_file else None
    source: DesiredState | SavedPlan = saved if saved is not None else load_config(paths)
    if options.undo_out:
        _check_writable(options.undo_out)
    with _log(options.log_file) as log:
        prepared = asyncio.run(_prepare(conn, settings, source, options, log))
        if not _review(prepared, options):
            return 0
        result, signalled = asyncio.run(_execute(conn, settings, prepared, options, log))
    return _finish(result, prepared, options, settings, signalled)


def _read_plan_file(path: str, settings: ConnectionSettings) -> SavedPlan:
    saved = read_saved(path)
    if saved.api_url != settings.base_url:
        raise UsageError(f"{path} was made against {saved.api_url}, not {settings.base_url}")
    return saved


def _check_writable(path: str) -> None:
    """UsageError unless `path` can be created or overwritten."""
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: no directory {parent}")
    # The file is written beside its path and renamed over it (see private_file).
    if not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def _review(prepared: Prepared, options: Options) -> bool:
    """Show the plan and get approval; False when there is nothing to do."""
    preview = sys.stdout if options.fmt == "text" else sys.stderr
    color = color_enabled(preview)
    write(text.format_plan(prepared.plan, color=color), err=preview is sys.stderr, nl=False)
    if prepared.plan.refused:
        write(
            text.format_refusals(prepared.plan, color=color_enabled(sys.stderr)), err=True, nl=False
        )
        raise PlanRefused("the plan was refused by the safety guards; nothing was written")
    if not prepared.plan.changes:
        return False
    if not options.plan_file:
        _approve(options.auto_approve)
    return True


async def _prepare(
    conn: Connection,
    settings: ConnectionSettings,
    source: DesiredState | SavedPlan,
    options: Options,
    log: Callable[[RequestRecord], None] | None,
) -> Prepared:
    async with open_client(conn, settings, on_request=log) as client:
        snapshot = await ClientAccount(client).snapshot()
    if isinstance(source, SavedPlan):
        return _from_saved(str(options.plan_file), source, snapshot)
    policy = Policy(source.safety, options.allow_destructive)
    return Prepared(source, policy, make_plan(source, snapshot, policy))


def _from_saved(path: str, saved: SavedPlan, snapshot: Snapshot) -> Prepared:
    plan = make_plan(saved.desired, snapshot, saved.policy)
    now = plan_document(plan, saved.desired, saved.policy, saved.api_url)["changes"]
    if now != saved.changes:
        differences = "".join(f"\n  {line}" for line in stale_differences(saved.changes, now))
        raise StalePlan(
            f"the account changed since {path} was made; plan again "
            f"({len(saved.changes)} change(s) saved, {len(now)} needed now):{differences}"
        )
    return Prepared(saved.desired, saved.policy, plan)


def _approve(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to apply without approval: no terminal to ask on; "
            "pass --auto-approve or apply a saved plan with --plan FILE"
        )
    answer = click.prompt(
        "Apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was written")


@contextlib.contextmanager
def _log(path: str | None) -> Iterator[Callable[[RequestRecord], None] | None]:
    """JSON lines, one per API call, in an owner-only file; None without --log-file."""
    if path is None:
        yield None
        return
    with private_file(path) as handle:
        yield lambda record: _log_line(handle, record)


def _log_line(handle: TextIO, record: RequestRecord) -> None:
    tag = dict(record.tag or {})
    entry = {
        "time": record.time,
        "action": tag.get("action", "list"),
        "number": tag.get("number"),
        "inbound_id": tag.get("inbound_id") or None,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "attempt": record.attempt,
        "duration": round(record.duration_s, 4),
        "outcome": record.outcome,
        "error": record.error,
    }
    if "target" in tag:  # a fleet's apply says which account each call went to
        entry["target"] = tag["target"]
    handle.write(json.dumps(entry, sort_keys=True) + "\n")
    handle.flush()


async def _execute(
    conn: Connection,
    settings: ConnectionSettings,
    prepared: Prepared,
    options: Options,
    log: Callable[[RequestRecord], None] | None,
) -> tuple[ApplyReport, int | None]:
    """The report, and the exit code of the signal that interrupted it, if one did."""
    interruption = Interruption(asyncio.get_running_loop())
    with interruption.handling():
        # The client's waits between attempts end at once on a signal, too.
        async with open_client(conn, settings, on_request=log, stop=interruption.stop) as client:
            account = ClientAccount(client, prepared.desired.service)
            with _progress(len(prepared.plan.changes)) as on_outcome:
                report = await apply_plan(
                    account,
                    prepared.plan,
                    prepared.desired,
                    Settings(concurrency=options.concurrency, attempts=settings.retry.attempts),
                    on_outcome,
                    interruption.stop,
                    interruption.abandon,
                )
    return report, interruption.exit_code


GRACE_S = 10.0
"""After the first signal, how long the changes in flight may take before they are abandoned."""

_SIGNALS: dict[int, str] = {
    signal.SIGINT: "Interrupted",
    signal.SIGTERM: "Terminated (SIGTERM)",
    **({signal.SIGHUP: "Hung up (SIGHUP)"} if hasattr(signal, "SIGHUP") else {}),
}


class Interruption:
    """SIGINT, SIGTERM and SIGHUP while apply writes.

    The first signal starts no new change and lets those in flight finish; a second signal, or
    GRACE_S seconds, abandons them (their outcome is then unknown). Either way the report, the
    audit log and the undo plan are still written, and the exit code is 128 + the first signal.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.stop = asyncio.Event()
        self.abandon = asyncio.Event()
        self.first: int | None = None

    @property
    def exit_code(self) -> int | None:
        return exit_code_for_signal(self.first) if self.first is not None else None

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
        installed = []
        for signum in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self.loop.add_signal_handler(signum, self.received, signum)
                installed.append(signum)
        try:
            yield
        finally:
            for signum in installed:
                self.loop.remove_signal_handler(signum)
                # remove_signal_handler leaves SIG_DFL; put back what the process had.
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(signum, previous[signum])

    def received(self, signum: int) -> None:
        if self.first is None:
            self.first = signum
            write(
                f"{_SIGNALS[signum]}: finishing the changes in flight, starting no new ones. "
                f"(Again, or {GRACE_S:g} s, abandons them.)",
                err=True,
            )
            self.stop.set()
            self.loop.call_later(GRACE_S, self._give_up, "they took too long")
        else:
            self._give_up(f"a second signal, {_SIGNALS[signum].split(' (')[0].lower()}")

    def _give_up(self, why: str) -> None:
        if self.abandon.is_set():
            return
        write(
            f"Abandoning the changes still in flight ({why}); their outcome is unknown "
            "until the account is read again.",
            err=True,
        )
        self.abandon.set()


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Outcome], None]]:
    """A progress bar on a terminal, else one line per finished change (both on stderr)."""
    if sys.stderr.isatty():
        with click.progressbar(length=total, label="Applying", file=sys.stderr) as bar:
            yield lambda _outcome: bar.update(1)
        return
    done = 0

    def line(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        write(render_report.progress_line(outcome, done, total), err=True)

    yield line


def _finish(
    result: ApplyReport,
    prepared: Prepared,
    options: Options,
    settings: ConnectionSettings,
    signalled: int | None = None,
) -> int:
    write(_render(result, options.fmt), nl=False)
    if options.undo_out:
        _write_undo(options.undo_out, result, prepared, settings.base_url)
    if signalled is not None:
        return signalled
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if result.ok else EXIT_ERROR


def _render(result: ApplyReport, fmt: str) -> str:
    renderers: dict[str, Callable[[ApplyReport], str]] = {
        "json": render_report.format_json,
        "markdown": render_report.format_markdown,
        "github": render_report.format_github,
    }
    if fmt == "github":
        append_step_summary(render_report.format_markdown(result))
    if fmt in renderers:
        return renderers[fmt](result)
    return render_report.format_text(result, color=color_enabled(sys.stdout))


def _write_undo(path: str, result: ApplyReport, prepared: Prepared, base_url: str) -> None:
    if result.final is None:
        # The undo plan's changes are computed against the account after apply; unread, a plan
        # saved now would only go stale, or worse, be wrong.
        write(
            f"Warning: the undo plan was not saved to {path}: the account could not be read"
            " after the changes; run `inbound-sync plan` to see where it stands",
            err=True,
        )
        return
    desired, warnings = undo_state(prepared.plan, prepared.desired)
    # Undo is itself a reviewed recovery step: it may release what this apply created.
    policy = Policy(desired.safety, allow_destructive=True)
    plan = make_plan(desired, result.final, policy)
    # The file carries what it leaves out, so that whoever applies it later reads it too.
    plan = plan._replace(warnings=(*plan.warnings, *warnings))
    document: dict[str, Any] = plan_document(plan, desired, policy, base_url)
    write_private(path, dumps(document))
    for warning in warnings:
        write(f"Warning: {escape.text(warning)}", err=True)
    write(
        f"Saved the undo plan to {path}; run it with: inbound-sync apply --plan {path}",
        err=True,
    )
