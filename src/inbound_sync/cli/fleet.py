"""`--fleet FILE`: validate, plan, drift, list and import over every target of a fleet file.

Each command checks its flags, reads the fleet file, selects the targets of the run (--target),
and only then loads configs and reads accounts, concurrently. `apply --fleet` is in fleet_apply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from inbound_sync.cli.common import STDOUT, Connection, load_config, write_out
from inbound_sync.cli.validate import format_summary
from inbound_sync.errors import UsageError
from inbound_sync.fleet import Fleet, Target, TargetState, load_fleet, load_states
from inbound_sync.fleet.model import json_schema
from inbound_sync.output import write
from inbound_sync.render import escape


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


def load_targets(run: Run) -> tuple[TargetState, ...]:
    """Every selected target's config, checked across targets; before any request."""
    return load_states(run.targets, load_config)


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
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def print_schema(out: str = STDOUT) -> int:
    write_out(out, format_schema())
    if out != STDOUT:
        write(f"Wrote the JSON Schema of the fleet file to {out}", err=True)
    return 0
