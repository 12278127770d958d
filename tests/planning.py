"""Builders for planner tests: desired numbers, remote rows, and an in-memory account."""

from __future__ import annotations

from inbound_sync.config import DesiredNumber, DesiredState, SafetyPolicy
from inbound_sync.plan import Binding, Change, Plan, RemoteRow, Snapshot

A1 = "550e8400-e29b-41d4-a716-446655440000"
A2 = "de305d54-75b4-431b-adb2-eb6b9e546014"
S1 = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
S2 = "0b0e1c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"


def want(
    normalized: str,
    assistant: str | None = A1,
    strategy: str | None = None,
    *,
    ensure: str = "present",
    protect: bool = False,
) -> DesiredNumber:
    return DesiredNumber(
        normalized=normalized,
        e164="+" + normalized,
        ensure=ensure,  # type: ignore[arg-type]
        assistant_id=assistant,
        strategy_id=strategy,
        protect=protect,
        source=f"inbound.yaml:{int(normalized[-3:])}",
    )


def state(
    *numbers: DesiredNumber, unmanaged: str = "ignore", max_destructive: int = 10
) -> DesiredState:
    return DesiredState(
        numbers=tuple(sorted(numbers, key=lambda n: n.normalized)),
        unmanaged=unmanaged,  # type: ignore[arg-type]
        safety=SafetyPolicy(max_destructive, 30.0),
        assistants={"support": A1},
        strategies={"crm": S1},
    )


def row(
    normalized: str, assistant: str | None = A1, strategy: str | None = None, **kw: str
) -> RemoteRow:
    return RemoteRow(
        inbound_id=kw.pop("inbound_id", f"id-{normalized}"),
        normalized=normalized,
        phone_number=kw.pop("phone_number", "+" + normalized),
        assistant_id=assistant,
        strategy_id=strategy,
        **kw,
    )


def snapshot(*rows: RemoteRow) -> Snapshot:
    return Snapshot(rows=tuple(rows))


def apply_in_memory(plan: Plan, snap: Snapshot) -> Snapshot:
    """What the account would look like after every change in `plan` succeeded."""
    rows = {r.inbound_id: r for r in snap.rows}
    for change in plan.changes:
        _apply_one(rows, change)
    return Snapshot(rows=tuple(rows.values()))


def _apply_one(rows: dict[str, RemoteRow], change: Change) -> None:
    if change.action == "delete":
        del rows[str(change.inbound_id)]
    elif change.action == "assign":
        after = change.after or Binding(None, None)
        new = row(
            change.normalized,
            after.assistant_id,
            after.strategy_id,
            inbound_id=f"new-{change.normalized}",
        )
        rows[new.inbound_id] = new
    else:
        after = change.after or Binding(None, None)
        current = rows[str(change.inbound_id)]
        rows[current.inbound_id] = current._replace(
            assistant_id=after.assistant_id, strategy_id=after.strategy_id
        )
