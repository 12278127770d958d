"""The fleet undo plan: every changed number of every target put back, moves reversed."""

from __future__ import annotations

from typing import NamedTuple

from inbound_sync.apply.undo import undo_state
from inbound_sync.fleet.execute import FleetReport
from inbound_sync.fleet.moves import FleetPlan, TargetInput, make_fleet_plan
from inbound_sync.plan import Policy


class FleetUndo(NamedTuple):
    plan: FleetPlan
    warnings: tuple[str, ...]


def undo_plan(report: FleetReport) -> FleetUndo | None:
    """The fleet plan that restores each target as it was; None if some account went unread.

    Each target restores what its plan changed, against the account as the verification read
    it. A move comes back as a move: the target it went to now holds the number, and the one
    it left declares it again.
    """
    inputs: list[TargetInput] = []
    warnings: dict[str, list[str]] = {}
    for item in report.targets:
        final = item.report.final
        if final is None:
            return None
        desired, notes = undo_state(item.target.plan, item.target.desired)
        warnings[item.name] = notes
        # Undo is itself a reviewed recovery step: it may release what this apply created.
        policy = Policy(desired.safety, allow_destructive=True)
        inputs.append(TargetInput(item.target.target, desired, final, policy))
    plan = make_fleet_plan(inputs)
    targets = tuple(
        t._replace(plan=t.plan._replace(warnings=(*t.plan.warnings, *warnings[t.name])))
        for t in plan.targets
    )
    shown = tuple(f"{name}: {w}" for name, notes in sorted(warnings.items()) for w in notes)
    return FleetUndo(plan._replace(targets=targets), shown)
