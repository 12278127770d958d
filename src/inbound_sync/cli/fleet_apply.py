"""`apply --fleet FILE`: plan (or read a saved fleet plan), approve, apply across targets, verify.

The order of a single account's apply, for a fleet: every check before the first write (keys,
configs or the saved plan, the undo file), every account read while the configs are parsed (a
saved plan is read first); any target that cannot be read stops the run before anything is
written, unless --target leaves it out.

It keeps the pace of a single account's apply (see fleet_pace): one pacer per API host for
every target on it, 429s that are no attempts within the run's deadline (--timeout-total), and
progress, report and audit log that say what the rate limits cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from inbound_sync.apply import ClientAccount, Settings
from inbound_sync.cli.apply import (
    Interruption,
    Options,
    _approve,
    _can_write,
    _check_writable,
    _deadline,
    _log,
    _patient,
    _unless_shared,
)
from inbound_sync.cli.common import Connection, append_step_summary, write_private
from inbound_sync.cli.fleet import (
    Clients,
    Run,
    failed,
    load_targets,
    open_run,
    plan_inputs,
    read_accounts,
    refused,
    target_connections,
)
from inbound_sync.cli.fleet_pace import Calls, Paced, Pacing, log_totals, progress
from inbound_sync.cli.overlap import Reader, load_while_reading
from inbound_sync.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    ApiError,
    InboundSyncError,
    StalePlan,
    TargetsFailed,
    UsageError,
)
from inbound_sync.fleet import FleetPlan, TargetInput, TargetState, make_fleet_plan
from inbound_sync.fleet.execute import FleetReport, apply_fleet
from inbound_sync.fleet.saved import SavedFleet, fleet_document, read_fleet_plan, stale_targets
from inbound_sync.fleet.undo import undo_plan
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Snapshot
from inbound_sync.plan.saved import dumps
from inbound_sync.render import escape, fleet_report
from inbound_sync.render import fleet as render

if TYPE_CHECKING:
    from inbound_sync.api import ConnectionSettings, RequestRecord


class Source(NamedTuple):
    """What the run applies: the configs of its targets, or a saved fleet plan."""

    states: tuple[TargetState, ...]
    saved: SavedFleet | None


def run_apply(
    fleet: str | None,
    targets: Sequence[str],
    paths: Sequence[str],
    conn: Connection,
    options: Options,
) -> int:
    run = open_run(fleet, targets, paths=paths, conn=conn)
    if options.plan_file and options.allow_destructive:
        raise UsageError(
            "--allow-destructive is recorded in the saved plan; make the plan again with it"
        )
    deadline = time.monotonic() + options.timeout_total
    source, early = _source(run, conn, options, deadline)
    if source.saved is not None:
        run = _saved_targets(run, source.saved, bool(targets))
    settings = early.settings if early else _patient_connections(run, conn)
    if options.undo_out:
        _check_writable(options.undo_out)
    rates = _config_rates(run, source)
    pacing = early.pacing.capped(rates, options) if early else Pacing.of(settings, rates, options)
    with _log(options.log_file) as log:
        calls = Calls(log)
        clients = Clients(conn, settings, calls, pacing.shared())
        if early is None:
            snapshots = asyncio.run(_read(run, clients, deadline))
        else:
            snapshots = early.replay(calls)
        plan = _prepare(run, snapshots, source, options)
        if not _review(plan, options):
            return 0
        report, signalled = asyncio.run(
            _execute(run, clients, plan, options, Paced(deadline, pacing, log))
        )
        report = pacing.counted(report, calls.limited)
        if log is not None:
            log_totals(log, report)
    return _finish(report, options, signalled, run.fleet.path)


def _patient_connections(run: Run, conn: Connection) -> dict[str, ConnectionSettings]:
    """Each target's connection; a 429 is no attempt here: the client waits as long as the API
    asks, within the run's deadline."""
    return {name: _patient(s) for name, s in target_connections(run, conn).items()}


class Reads(NamedTuple):
    """Every account as read (or its error), and whether the run's deadline cut the reads."""

    snapshots: dict[str, Snapshot | ApiError]
    expired: bool


class Early(NamedTuple):
    """The accounts as read while the configs were parsed, with what the reads were made with,
    and their requests for the audit log, opened only once the configs are known to be good."""

    settings: dict[str, ConnectionSettings]
    pacing: Pacing
    reader: Reader[Reads]
    requests: list[tuple[str, RequestRecord]]

    def replay(self, calls: Callable[[str, RequestRecord], None]) -> Reads:
        for name, record in self.requests:
            calls(name, record)
        return self.reader.result()


def _source(
    run: Run, conn: Connection, options: Options, deadline: float
) -> tuple[Source, Early | None]:
    """The saved plan; or the configs, with every account read while they are parsed."""
    if options.plan_file is not None:
        return Source((), read_fleet_plan(options.plan_file)), None
    try:
        settings = _patient_connections(run, conn)
        # The configs' rates are known only once they are read: the reads start at the flag's
        # or the variable's pace, and each host's pacer is capped afterwards (Pacing.capped).
        pacing = Pacing.of(settings, {}, options)
        writable = _can_write(options.undo_out, options.log_file)
    except UsageError:
        writable = False
    if not writable:
        # Read nothing early: the configs' errors come first, then these, found before any
        # request, as they always were.
        return Source(load_targets(run), None), None
    requests: list[tuple[str, RequestRecord]] = []
    clients = Clients(
        conn, settings, lambda name, record: requests.append((name, record)), pacing.shared()
    )
    states, reader = load_while_reading(
        lambda ready: load_targets(run, ready), lambda: _read(run, clients, deadline)
    )
    return Source(states, None), Early(settings, pacing, reader, requests)


def _saved_targets(run: Run, saved: SavedFleet, chosen: bool) -> Run:
    """The targets of the saved plan (those of --target among them), checked against the file."""
    known = {t.name: t for t in run.fleet.targets}
    missing = [name for name in saved.targets if name not in known]
    if missing:
        raise UsageError(
            f"{saved.path} plans target(s) {', '.join(missing)}, which {run.fleet.path} "
            "does not name"
        )
    names = {t.name for t in run.targets} if chosen else set(saved.targets)
    unplanned = sorted(names - set(saved.targets))
    if unplanned:
        raise UsageError(f"{saved.path} holds no plan for target(s) {', '.join(unplanned)}")
    for move in saved.moves:
        if (move.source in names) != (move.dest in names):
            raise UsageError(
                f"{saved.path} moves {escape.text(move.normalized)} from {move.source} to "
                f"{move.dest}: a run applies both ends of a move or neither"
            )
    for name in sorted(names):
        if saved.targets[name].api_url != known[name].api_url:
            raise UsageError(
                f"{saved.path} was made for target {name} against {saved.targets[name].api_url}, "
                f"not {known[name].api_url}"
            )
    return Run(run.fleet, tuple(known[name] for name in sorted(names)))


async def _read(run: Run, clients: Clients, deadline: float) -> Reads:
    with _deadline(deadline) as expired:
        snapshots = await read_accounts(run.targets, _stopped_by(clients, expired))
        return Reads(snapshots, expired.is_set())


def _prepare(run: Run, reads: Reads, source: Source, options: Options) -> FleetPlan:
    snapshots = reads.snapshots
    unread = {name: found for name, found in snapshots.items() if not isinstance(found, Snapshot)}
    if unread and reads.expired:
        raise InboundSyncError(
            _unread_lines(
                f"the run's deadline (--timeout-total {options.timeout_total:g} s) passed before"
                " every account could be read; nothing was written:",
                unread,
            )
        )
    if unread:
        raise _unread(unread)
    read = {name: found for name, found in snapshots.items() if isinstance(found, Snapshot)}
    if source.saved is not None:
        return _from_saved(run, source.saved, read)
    plan = plan_inputs(source.states, read, options.allow_destructive)
    if plan.failures:
        for failure in plan.failures:
            write(f"Error: target {failure.name}: {escape.text(failure.message)}", err=True)
        raise failed(plan, None)
    return plan


def _stopped_by(clients: Clients, event: asyncio.Event) -> Clients:
    """`clients`, whose waits (for a turn, a pause, a retry) end when `event` is set."""
    shared = {url: {**options, "stop": event} for url, options in clients.shared.items()}
    return Clients(clients.conn, clients.settings, clients.log, shared)


def _unread(unread: Mapping[str, ApiError]) -> TargetsFailed:
    return TargetsFailed(
        _unread_lines(
            "apply refuses to start: some accounts could not be read, and nothing was "
            "written (leave a target out with --target to go ahead without it):",
            unread,
        )
    )


def _unread_lines(head: str, unread: Mapping[str, ApiError]) -> str:
    lines = [f"  {name}: {escape.text(str(exc))}" for name, exc in sorted(unread.items())]
    return "\n".join([head, *lines])


def _from_saved(run: Run, saved: SavedFleet, snapshots: Mapping[str, Snapshot]) -> FleetPlan:
    inputs = [
        TargetInput(
            t, saved.targets[t.name].desired, snapshots[t.name], saved.targets[t.name].policy
        )
        for t in run.targets
    ]
    plan = make_fleet_plan(inputs)
    chosen = SavedFleet(
        saved.path, {t.name: saved.targets[t.name] for t in run.targets}, saved.moves
    )
    differences = stale_targets(chosen, plan)
    names = [*differences, *(f.name for f in plan.failures)]
    if names:
        lines = [line for found in differences.values() for line in found]
        raise StalePlan(
            f"the account of {', '.join(names)} changed since {saved.path} was made; plan again:"
            + "".join(f"\n  {line}" for line in lines)
        )
    return plan


def _review(plan: FleetPlan, options: Options) -> bool:
    """Show the plan and get approval; False when there is nothing to do."""
    preview = sys.stdout if options.fmt == "text" else sys.stderr
    color = color_enabled(preview)
    write(render.format_plan(plan, color=color), err=preview is sys.stderr, nl=False)
    if plan.refused():
        write(render.format_refusals(plan, color=color_enabled(sys.stderr)), err=True, nl=False)
        raise refused(plan, "nothing was written")
    if not plan.changes:
        return False
    if not options.plan_file:
        _approve(options.auto_approve)
    return True


async def _execute(
    run: Run, clients: Clients, plan: FleetPlan, options: Options, paced: Paced
) -> tuple[FleetReport, int | None]:
    """The report, and the exit code of the signal that interrupted it, if one did."""
    # `halt` ends the clients' waits: a signal sets it, and so does the deadline.
    halt = asyncio.Event()
    interruption = Interruption(asyncio.get_running_loop(), halt)
    with interruption.handling(), _deadline(paced.deadline, halt) as expired:
        async with _accounts(plan, clients, halt) as accounts:
            attempts = min(s.retry.attempts for s in clients.settings.values())
            with progress(plan.changes, paced) as on_outcome:
                report = await apply_fleet(
                    plan,
                    accounts,
                    Settings(concurrency=options.concurrency, attempts=attempts),
                    on_outcome,
                    interruption.stop,
                    interruption.abandon,
                    run.left_out(),
                    expired,
                )
    return report, interruption.exit_code


@contextlib.asynccontextmanager
async def _accounts(
    plan: FleetPlan, clients: Clients, stop: asyncio.Event
) -> AsyncIterator[dict[str, ClientAccount]]:
    async with contextlib.AsyncExitStack() as stack:
        accounts = {}
        for target in plan.targets:
            client = await stack.enter_async_context(
                clients.open(target.name, stop=stop, on_wait=_unless_shared)
            )
            accounts[target.name] = ClientAccount(client, target.desired.service)
        yield accounts


def _finish(report: FleetReport, options: Options, signalled: int | None, fleet: str) -> int:
    write(_render(report, options.fmt), nl=False)
    if options.undo_out:
        _write_undo(options.undo_out, report, fleet)
    if signalled is not None:
        return signalled
    if report.interrupted:
        return EXIT_INTERRUPTED
    return 0 if report.ok else EXIT_ERROR


def _render(report: FleetReport, fmt: str) -> str:
    if fmt == "json":
        return fleet_report.format_report_json(report)
    if fmt == "markdown":
        return fleet_report.format_report_markdown(report)
    if fmt == "github":
        append_step_summary(fleet_report.format_report_markdown(report))
        return fleet_report.format_report_github(report)
    return fleet_report.format_report(report, color=color_enabled(sys.stdout))


def _write_undo(path: str, report: FleetReport, fleet: str) -> None:
    undo = undo_plan(report)
    if undo is None:
        write(
            f"Warning: the undo plan was not saved to {path}: some account could not be read"
            " after the changes; run `inbound-sync plan --fleet` to see where it stands",
            err=True,
        )
        return
    if undo.plan.failures:
        names = ", ".join(f.name for f in undo.plan.failures)
        write(
            f"Warning: the undo plan was not saved to {path}: it cannot restore {names}", err=True
        )
        return
    write_private(path, dumps(fleet_document(undo.plan)))
    for warning in undo.warnings:
        write(f"Warning: {escape.text(warning)}", err=True)
    write(
        f"Saved the undo plan to {path}; run it with: "
        f"inbound-sync apply --fleet {fleet} --plan {path}",
        err=True,
    )


def _config_rates(run: Run, source: Source) -> dict[str, float | None]:
    """Each target's `apply: max_rate`, from its config or from the saved plan (which keeps it)."""
    if source.saved is not None:
        return {t.name: source.saved.targets[t.name].desired.max_rate for t in run.targets}
    return {state.target.name: state.desired.max_rate for state in source.states}
