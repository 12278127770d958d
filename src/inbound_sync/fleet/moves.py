"""Planning a fleet, pure: one plan per target, then moves paired across targets of one system.

A number is unique across a whole system, so a number that target B declares while target A
holds it can only reach B as "delete in A, then assign in B". When A no longer declares it
present, B's assign is paired with A's delete (added if A's plan lacks it, or in place of the
detach `unmanaged: detach` planned) into a Move; A's guards then judge A's plan with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from inbound_sync.config import DesiredState
from inbound_sync.errors import PlanError
from inbound_sync.fleet.file import Target
from inbound_sync.plan import Change, Plan, Policy, RemoteRow, Snapshot, make_plan
from inbound_sync.plan.planner import index_rows, refusals


class Move(NamedTuple):
    """A number leaving one target's account for another's: two changes linked by `id`."""

    normalized: str
    source: str
    dest: str

    @property
    def id(self) -> str:
        return f"move:{self.source}:{self.dest}:{self.normalized}"


class TargetInput(NamedTuple):
    """What planning one target needs."""

    target: Target
    desired: DesiredState
    snapshot: Snapshot
    policy: Policy


class TargetPlan(NamedTuple):
    target: Target
    desired: DesiredState
    policy: Policy
    plan: Plan

    @property
    def name(self) -> str:
        return self.target.name


class TargetFailure(NamedTuple):
    """A target that could not be read or planned, and why."""

    target: Target
    message: str

    @property
    def name(self) -> str:
        return self.target.name


class FleetPlan(NamedTuple):
    """Every target's plan (sorted by name), the moves between them, and the targets that failed."""

    targets: tuple[TargetPlan, ...]
    moves: tuple[Move, ...]
    failures: tuple[TargetFailure, ...] = ()

    @property
    def changes(self) -> int:
        return sum(len(t.plan.changes) for t in self.targets)

    def refused(self) -> tuple[TargetPlan, ...]:
        return tuple(t for t in self.targets if t.plan.refused)


def make_fleet_plan(
    inputs: Iterable[TargetInput], failures: Sequence[TargetFailure] = ()
) -> FleetPlan:
    """Plan each target, then pair moves; a target whose plan fails is reported, not fatal."""
    planned: list[tuple[TargetPlan, Snapshot]] = []
    failed = list(failures)
    for item in inputs:
        try:
            plan = make_plan(item.desired, item.snapshot, item.policy)
        except PlanError as exc:
            failed.append(TargetFailure(item.target, str(exc)))
            continue
        planned.append((TargetPlan(item.target, item.desired, item.policy, plan), item.snapshot))
    targets, moves = pair_moves(planned)
    return FleetPlan(
        targets=tuple(sorted(targets, key=lambda t: t.name)),
        moves=tuple(sorted(moves)),
        failures=tuple(sorted(failed, key=lambda f: f.name)),
    )


def pair_moves(
    planned: Sequence[tuple[TargetPlan, Snapshot]],
) -> tuple[list[TargetPlan], list[Move]]:
    """Each assign of a number another target of its system holds, paired with that one's delete."""
    holders = _holders(planned)
    present = {t.name: _present(t.desired) for t, _ in planned}
    released: dict[str, list[RemoteRow]] = {}
    moves: list[Move] = []
    for target, _ in planned:
        for change in target.plan.changes:
            if change.action != "assign":
                continue
            held = holders.get((target.target.system, change.normalized))
            if held is None or held[0] == target.name:
                continue
            source, row = held
            if change.normalized in present[source]:
                continue  # refused by the cross-target check before planning, if both loaded
            released.setdefault(source, []).append(row)
            moves.append(Move(change.normalized, source, target.name))
    result = [
        _release(target, released[target.name]) if target.name in released else target
        for target, _ in planned
    ]
    return result, moves


def _holders(
    planned: Sequence[tuple[TargetPlan, Snapshot]],
) -> dict[tuple[str, str], tuple[str, RemoteRow]]:
    """(system, normalized number) -> the target whose account holds it, and its row."""
    holders: dict[tuple[str, str], tuple[str, RemoteRow]] = {}
    for target, snapshot in planned:
        rows, _ = index_rows(snapshot, target.desired.region)
        for key, row in rows.items():
            holders.setdefault((target.target.system, key), (target.name, row))
    return holders


def _present(desired: DesiredState) -> frozenset[str]:
    return frozenset(n.normalized for n in desired.numbers if n.ensure == "present")


def _release(target: TargetPlan, rows: Iterable[RemoteRow]) -> TargetPlan:
    """`target`'s plan with a delete of each row, counted by its guards like any other."""
    plan = target.plan
    leaving = {row.normalized: row for row in rows}
    kept = [c for c in plan.changes if c.normalized not in leaving or c.action == "delete"]
    planned_deletes = {c.normalized for c in kept if c.action == "delete"}
    added = [_delete(row) for key, row in leaving.items() if key not in planned_deletes]
    changes = sorted([*kept, *added], key=lambda c: c.sort_key)
    plan = plan._replace(
        changes=tuple(changes),
        unmanaged=tuple(r for r in plan.unmanaged if r.normalized not in leaving),
        refusals=tuple(refusals(changes, plan.account_size, target.policy)),
    )
    return target._replace(plan=plan)


def _delete(row: RemoteRow) -> Change:
    return Change(
        action="delete",
        normalized=row.normalized,
        e164="+" + row.normalized,
        inbound_id=row.inbound_id,
        before=row.binding,
        after=None,
    )


def moves_by_change(plan: FleetPlan) -> Mapping[tuple[str, str, str], Move]:
    """(target, action, normalized) -> move, for renderers that look up every change."""
    index: dict[tuple[str, str, str], Move] = {}
    for move in plan.moves:
        index[(move.source, "delete", move.normalized)] = move
        index[(move.dest, "assign", move.normalized)] = move
    return index
