"""`--fleet FILE`: validate, plan, drift, list and import over every target of a fleet file.

Each command checks its flags, reads the fleet file, selects the targets of the run (--target),
and only then loads configs and reads accounts, concurrently. `apply --fleet` is in fleet_apply.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from inbound_sync.apply import ClientAccount
from inbound_sync.cli.common import (
    STDOUT,
    WORKERS_VARIABLE,
    Connection,
    append_step_summary,
    open_client,
    run_async,
    write_out,
)
from inbound_sync.cli.overlap import load_while_reading
from inbound_sync.cli.validate import format_summary
from inbound_sync.errors import (
    EXIT_CHANGES,
    EXIT_OK,
    ApiError,
    PlanRefused,
    TargetsFailed,
    UsageError,
)
from inbound_sync.fleet import (
    Fleet,
    FleetPlan,
    Move,
    Target,
    TargetFailure,
    TargetInput,
    TargetState,
    load_fleet,
    load_states,
    make_fleet_plan,
)
from inbound_sync.fleet.keys import connections
from inbound_sync.fleet.model import json_schema
from inbound_sync.fleet.saved import fleet_document
from inbound_sync.jsontext import indented
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Policy, Snapshot
from inbound_sync.plan.saved import dumps
from inbound_sync.render import escape
from inbound_sync.render import fleet as render

if TYPE_CHECKING:
    from inbound_sync.api import ConnectionSettings, InboundClient, RequestRecord

READS = 8
"""Accounts listed at once across the fleet: the waits overlap, and no host gets a burst."""


class Run:
    """The fleet file of a run and the targets it selects."""

    def __init__(self, fleet: Fleet, targets: tuple[Target, ...]) -> None:
        self.fleet = fleet
        self.targets = targets

    def left_out(self) -> dict[str, tuple[str, ...]]:
        """By system, the fleet's targets this run does not include (--target)."""
        chosen = {t.name for t in self.targets}
        found: dict[str, tuple[str, ...]] = {}
        for target in self.fleet.targets:
            if target.name not in chosen:
                found[target.system] = (*found.get(target.system, ()), target.name)
        return found


def open_run(
    fleet: str | None,
    targets: Sequence[str],
    *,
    paths: Sequence[str] = (),
    conn: Connection | None = None,
) -> Run:
    """Check the flags of a fleet run, read the fleet file and select its targets."""
    if fleet is None:
        raise UsageError("--target selects targets of a fleet: give --fleet FILE too")
    if paths:
        raise UsageError(
            "with --fleet, each target's config is named in the fleet file; give no PATHS"
        )
    if conn is not None and (conn.api_url or conn.api_key_file):
        raise UsageError(
            "with --fleet, each target names its api_url and key in the fleet file; "
            "--api-url and --api-key-file do not apply"
        )
    loaded = load_fleet(fleet)
    return Run(loaded, loaded.select(targets))


def load_targets(run: Run, on_ready: Callable[[], None] | None = None) -> tuple[TargetState, ...]:
    """Every selected target's config, checked across targets; `on_ready` as for config.load
    (where the reads of the accounts may start)."""
    from inbound_sync import config

    # What load_config makes of INBOUND_SYNC_WORKERS, for the configs of all targets at once.
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if text and not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        raise UsageError(f"{WORKERS_VARIABLE} must be a whole number from 1 to 64")
    workers = int(text) if text else None
    return load_states(
        run.targets,
        lambda groups: config.load_many(groups, workers=workers, on_ready=on_ready),
    )


def run_validate(fleet: str | None, targets: Sequence[str], paths: Sequence[str]) -> int:
    run = open_run(fleet, targets, paths=paths)
    states = load_targets(run)
    write(format_validation(run, states), nl=False)
    return 0


def format_validation(run: Run, states: Sequence[TargetState]) -> str:
    """'OK: fleet F, 3 targets on 2 systems', then one summary line per target."""
    systems = {t.system for t in run.targets}
    count = len(run.targets)
    head = (
        f"OK: fleet {escape.text(run.fleet.path)}, {count} target{'s' if count != 1 else ''} "
        f"on {len(systems)} system{'s' if len(systems) != 1 else ''}"
    )
    width = max(len(s.target.name) for s in states)
    lines = [
        f"  {s.target.name:<{width}}  {format_summary(s.desired).removeprefix('OK: ')}"
        for s in states
    ]
    return "\n".join([head, *lines]) + "\n"


def format_schema() -> str:
    """The schema as committed in schemas/fleet.schema.json."""
    return indented(json_schema(), ensure_ascii=True) + "\n"


def print_schema(out: str = STDOUT) -> int:
    write_out(out, format_schema())
    if out != STDOUT:
        write(f"Wrote the JSON Schema of the fleet file to {out}", err=True)
    return 0


# -- reading every account -----------------------------------------------------------------


class Clients:
    """Opens each target's client; `shared` adds options by API base URL.

    Everything one host's clients must share in a run (a request pacer, one per base URL) is
    made once per base URL by the caller and passed in `shared`, so that ten targets on one
    system are paced as one.
    """

    def __init__(
        self,
        conn: Connection,
        settings: Mapping[str, ConnectionSettings],
        log: Callable[[str, RequestRecord], None] | None = None,
        shared: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.log = log
        self.shared = shared or {}

    def open(self, name: str, **extra: Any) -> InboundClient:
        """The client of target `name`; `extra` as for open_client (stop=, say). Its requests
        reach the log, and the lines of --verbose, tagged with the target's name."""
        from inbound_sync.api import verbose_logger

        settings = self.settings[name]
        options = {**self.shared.get(settings.base_url, {}), **extra}
        hooks: list[Callable[[RequestRecord], None]] = []
        if self.conn.verbose:
            hooks.append(verbose_logger(sys.stderr))
        if (log := self.log) is not None:
            hooks.append(lambda record: log(name, record))

        def tagged(record: RequestRecord) -> None:
            record = record._replace(tag={"target": name, **record.tag})
            for hook in hooks:
                hook(record)

        # --verbose is logged here, tagged, rather than by open_client.
        return open_client(
            self.conn._replace(verbose=False), settings, on_request=tagged, **options
        )


async def read_accounts(
    targets: Sequence[Target], clients: Clients, limit: int = READS
) -> dict[str, Snapshot | ApiError]:
    """Every target's account, listed concurrently (at most `limit` at once); a failed read is
    returned in place of its snapshot, so that one account down does not hide the others."""
    gate = asyncio.Semaphore(limit)

    async def read(target: Target) -> Snapshot | ApiError:
        async with gate:
            try:
                async with clients.open(target.name) as client:
                    return await ClientAccount(client).snapshot()
            except ApiError as exc:
                return exc

    results = await asyncio.gather(*(read(t) for t in targets))
    return {t.name: r for t, r in zip(targets, results, strict=True)}


def target_connections(run: Run, conn: Connection) -> dict[str, ConnectionSettings]:
    """URL and key of every target of the run, before any request; UsageError naming each gap."""
    return connections(
        run.targets, allow_insecure_http=conn.allow_insecure_http, environ=os.environ
    )


def plan_inputs(
    states: Sequence[TargetState],
    snapshots: Mapping[str, Snapshot | ApiError],
    allow_destructive: bool,
) -> FleetPlan:
    inputs: list[TargetInput] = []
    failures: list[TargetFailure] = []
    for target, desired in states:
        found = snapshots[target.name]
        if isinstance(found, ApiError):
            failures.append(TargetFailure(target, f"could not read the account: {found}"))
        else:
            inputs.append(
                TargetInput(target, desired, found, Policy(desired.safety, allow_destructive))
            )
    return make_fleet_plan(inputs, failures)


def compute(run: Run, conn: Connection, allow_destructive: bool) -> FleetPlan:
    """Load every config while every account is read, and plan."""
    try:
        clients = Clients(conn, target_connections(run, conn))
    except UsageError:
        load_targets(run)  # the configs' errors come first, then the keys'
        raise
    states, reader = load_while_reading(
        lambda ready: load_targets(run, ready), lambda: read_accounts(run.targets, clients)
    )
    return plan_inputs(states, reader.result(), allow_destructive)


def failed(plan: FleetPlan, unsaved: str | None = None) -> TargetsFailed:
    names = ", ".join(f.name for f in plan.failures)
    count = len(plan.failures)
    note = f"; {unsaved} was not written" if unsaved else ""
    return TargetsFailed(
        f"{count} target{'s' if count != 1 else ''} could not be planned: {names}{note}"
    )


def refused(plan: FleetPlan, consequence: str) -> PlanRefused:
    names = ", ".join(t.name for t in plan.refused())
    return PlanRefused(f"the plan of {names} was refused by the safety guards; {consequence}")


# -- plan and drift ------------------------------------------------------------------------


def render_plan(plan: FleetPlan, document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(document)
    if fmt == "markdown":
        return render.format_plan_markdown(plan)
    if fmt == "github":
        append_step_summary(render.format_plan_markdown(plan))
        return render.format_plan_github(plan)
    return render.format_plan(plan, color=color_enabled(sys.stdout))


def run_plan(
    fleet: str | None,
    targets: Sequence[str],
    paths: Sequence[str],
    conn: Connection,
    *,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    allow_destructive: bool,
) -> int:
    run = open_run(fleet, targets, paths=paths, conn=conn)
    plan = compute(run, conn, allow_destructive)
    document = fleet_document(plan)
    # With --out -, standard output carries the saved plan, and the review goes to stderr.
    write(render_plan(plan, document, fmt), nl=False, err=out == STDOUT)
    unsaved = out if out and out != STDOUT else None
    if plan.refused():
        write(render.format_refusals(plan, color=color_enabled(sys.stderr)), err=True, nl=False)
    if plan.failures:
        raise failed(plan, unsaved)
    if plan.refused():
        raise refused(plan, f"{unsaved} was not written" if unsaved else "nothing may be applied")
    if out:
        write_out(out, dumps(document), private=True)
    if unsaved:
        write(
            f"Saved the fleet plan to {out}; apply it with: "
            f"inbound-sync apply --fleet {run.fleet.path} --plan {out}",
            err=True,
        )
    return EXIT_CHANGES if detailed_exitcode and plan.changes else EXIT_OK


def run_drift(
    fleet: str | None, targets: Sequence[str], paths: Sequence[str], conn: Connection, *, fmt: str
) -> int:
    run = open_run(fleet, targets, paths=paths, conn=conn)
    plan = compute(run, conn, allow_destructive=True)
    if fmt == "json":
        output = dumps(render.drift_document(plan))
    elif fmt == "markdown":
        output = render.format_drift_markdown(plan)
    elif fmt == "github":
        append_step_summary(render.format_drift_markdown(plan))
        output = render.format_drift_github(plan)
    else:
        output = render.format_drift(plan, color=color_enabled(sys.stdout))
    write(output, nl=False)
    if plan.failures:
        raise failed(plan)
    return EXIT_CHANGES if plan.changes else EXIT_OK


# -- list and import -----------------------------------------------------------------------


def read_run(run: Run, conn: Connection) -> dict[str, Snapshot]:
    """Every target's account, or TargetsFailed naming those that could not be read."""
    clients = Clients(conn, target_connections(run, conn))
    found = run_async(read_accounts(run.targets, clients))
    unread = {name: exc for name, exc in found.items() if isinstance(exc, ApiError)}
    if unread:
        lines = [f"  {name}: {escape.text(str(exc))}" for name, exc in sorted(unread.items())]
        raise TargetsFailed("\n".join(["some accounts could not be read:", *lines]))
    return {name: s for name, s in found.items() if isinstance(s, Snapshot)}


def run_list(fleet: str | None, targets: Sequence[str], conn: Connection, *, fmt: str) -> int:
    from inbound_sync.cli.listing import format_json, format_table

    run = open_run(fleet, targets, conn=conn)
    snapshots = read_run(run, conn)
    if fmt == "json":
        items = {name: json.loads(format_json(s)) for name, s in sorted(snapshots.items())}
        write(indented(items, ensure_ascii=True) + "\n", nl=False)
        return 0
    sections = []
    for target in run.targets:
        table = format_table(snapshots[target.name]).rstrip("\n").split("\n")
        heading = f"Target {target.name} ({escape.text(target.api_url)})"
        sections.append("\n".join([heading, *(f"  {line}" for line in table)]))
    write("\n\n".join(sections) + "\n", nl=False)
    return 0


def import_path(target: Target) -> str:
    """Where `import --fleet` writes a target's config: its first config entry, or
    inbound.yaml inside it when that names a directory."""
    entry = target.config[0]
    if os.path.isdir(entry) or not entry.lower().endswith((".yaml", ".yml")):
        return os.path.join(entry, "inbound.yaml")
    return entry


def run_import(
    fleet: str | None,
    targets: Sequence[str],
    conn: Connection,
    *,
    out: str | None,
    region: str,
    schema: str | None,
) -> int:
    from inbound_sync.cli.listing import schema_reference
    from inbound_sync.plan.importer import import_config

    run = open_run(fleet, targets, conn=conn)
    if out is not None:
        raise UsageError(
            "with --fleet, each target's config is written where the fleet file points "
            "(its first config entry); --out does not apply"
        )
    paths = {t.name: import_path(t) for t in run.targets}
    existing = [p for p in paths.values() if os.path.lexists(p)]
    if existing:
        raise UsageError(
            f"{', '.join(existing)} already exist(s); import never overwrites a file, and "
            "writes nothing unless it can write every target"
        )
    snapshots = read_run(run, conn)
    for target in run.targets:
        path = paths[target.name]
        reference = schema_reference(path) if schema is None else schema
        text, warnings = import_config(snapshots[target.name], region, schema=reference or None)
        for warning in warnings:
            write(f"Warning: {target.name}: {escape.text(warning)}", err=True)
        write_out(path, text)
        count = len(snapshots[target.name].rows)
        write(f"Wrote {count} mappings of {target.name} to {path}", err=True)
    write(f"Check them with: inbound-sync plan --fleet {run.fleet.path}", err=True)
    return 0


# -- the CI matrix -------------------------------------------------------------------------


def run_matrix(fleet: str | None, targets: Sequence[str], plan_file: str | None) -> int:
    """The jobs of a fan-out as one line of JSON, for $GITHUB_OUTPUT and fromJSON.

    With a saved fleet plan, only the targets it changes get a job, and the ends of each of its
    moves share one.
    """
    from inbound_sync.fleet.matrix import jobs, matrix
    from inbound_sync.fleet.saved import read_fleet_plan

    run = open_run(fleet, targets)
    chosen: tuple[Target, ...] = run.targets
    moves: tuple[Move, ...] = ()
    if plan_file:
        saved = read_fleet_plan(plan_file)
        chosen = tuple(
            t for t in run.targets if t.name in saved.targets and saved.targets[t.name].changes
        )
        moves = saved.moves
    write(json.dumps(matrix(jobs(chosen, moves)), separators=(",", ":"), sort_keys=True))
    return 0
