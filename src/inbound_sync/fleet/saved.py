"""The fleet plan document (format_version 2): one plan body per target, and the moves.

    {"format_version": 2,
     "targets": {NAME: a plan document less its format_version; a change of a move has "move"},
     "moves": [{"id", "number", "normalized", "from", "to"}],
     "summary": totals over the targets, with "targets" and "moves",
     "errors": {NAME: why the target could not be planned}}

A single account's document keeps format_version 1 and its shape: both are in
schemas/plan.schema.json. Like it, a fleet plan never carries a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pydantic

from inbound_sync.errors import UsageError
from inbound_sync.fleet.moves import FleetPlan, Move, TargetPlan, moves_by_change
from inbound_sync.phone import display
from inbound_sync.plan.model import ACTIONS
from inbound_sync.plan.saved import (
    FLEET_FORMAT_VERSION,
    SavedPlan,
    plan_document,
    saved_body,
    stale_differences,
)


def fleet_document(plan: FleetPlan) -> dict[str, Any]:
    """The stable JSON form of a fleet plan; the same inputs give the same document."""
    links = moves_by_change(plan)
    return {
        "format_version": FLEET_FORMAT_VERSION,
        "targets": {t.name: target_document(t, links) for t in plan.targets},
        "moves": [move_data(m) for m in plan.moves],
        "summary": totals(plan),
        "errors": {f.name: f.message for f in plan.failures},
    }


def target_document(
    target: TargetPlan, links: Mapping[tuple[str, str, str], Move]
) -> dict[str, Any]:
    document = plan_document(target.plan, target.desired, target.policy, target.target.api_url)
    del document["format_version"]
    for change in document["changes"]:
        move = links.get((target.name, change["action"], change["normalized"]))
        if move is not None:
            change["move"] = move.id
    return document


def move_data(move: Move) -> dict[str, str]:
    return {
        "id": move.id,
        "number": display(move.normalized),
        "normalized": move.normalized,
        "from": move.source,
        "to": move.dest,
    }


def totals(plan: FleetPlan) -> dict[str, int]:
    """Every target's summary added up, with the number of targets and of moves."""
    total = dict.fromkeys([*ACTIONS, "unchanged", "unmanaged"], 0)
    for target in plan.targets:
        for key, value in target.plan.summary.to_json().items():
            total[key] += value
    return {
        **total,
        "targets": len(plan.targets) + len(plan.failures),
        "moves": len(plan.moves),
    }


class _Move(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    normalized: str
    source: str = pydantic.Field(alias="from")
    dest: str = pydantic.Field(alias="to")


class _Fleet(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)
    format_version: Literal[2]
    targets: dict[str, dict[str, Any]]
    moves: list[_Move]
    errors: dict[str, str] = {}


class SavedFleet(NamedTuple):
    """A fleet plan file read back: each target's saved plan, and the moves between them."""

    path: str
    targets: Mapping[str, SavedPlan]
    moves: tuple[Move, ...]


def read_fleet_plan(path: str) -> SavedFleet:
    """Read a file written by `plan --fleet --out`; any defect is a UsageError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read plan file {path}: {exc}") from None
    try:
        document = _Fleet.model_validate_json(text)
    except pydantic.ValidationError as exc:
        raise UsageError(_not_a_fleet_plan(path, text, exc)) from None
    targets: dict[str, SavedPlan] = {}
    for name, data in sorted(document.targets.items()):
        try:
            targets[name] = saved_body(data)
        except pydantic.ValidationError as exc:
            raise UsageError(_problem(path, exc, ("targets", name))) from None
    if document.errors:
        raise UsageError(f"{path} holds targets that could not be planned; it cannot be applied")
    moves = tuple(sorted(Move(m.normalized, m.source, m.dest) for m in document.moves))
    return SavedFleet(path, targets, moves)


def _not_a_fleet_plan(path: str, text: str, exc: pydantic.ValidationError) -> str:
    try:
        version = json.loads(text).get("format_version")
    except (ValueError, AttributeError):
        version = None
    if version == 1:
        return f"{path} is the plan of a single account: apply it without --fleet"
    return _problem(path, exc)


def _problem(path: str, exc: pydantic.ValidationError, at: tuple[str, ...] = ()) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (*at, *first["loc"])) or "document"
    return (
        f"{path} is not a fleet plan written by `inbound-sync plan --fleet --out` "
        f"({where}: {first['msg']})"
    )


def stale_targets(saved: SavedFleet, now: FleetPlan) -> dict[str, list[str]]:
    """By target whose changes are no longer the saved ones, what differs, line by line."""
    document = fleet_document(now)
    found: dict[str, list[str]] = {}
    for name, plan in saved.targets.items():
        current = document["targets"].get(name, {}).get("changes", [])
        if current == plan.changes:
            continue
        found[name] = [
            f"target {name}: {len(plan.changes)} change(s) saved, {len(current)} needed now",
            *(f"  {line}" for line in stale_differences(plan.changes, current)),
        ]
    return found
