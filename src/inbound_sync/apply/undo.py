"""The undo plan: a desired state that puts every changed number back as it was before apply."""

from __future__ import annotations

from inbound_sync.config import DesiredNumber, DesiredState
from inbound_sync.phone import display
from inbound_sync.plan import Plan
from inbound_sync.plan.model import UNROUTED


def undo_state(plan: Plan, desired: DesiredState) -> tuple[DesiredState, list[str]]:
    """Desired state restoring each changed number; warnings for what cannot be restored."""
    numbers: list[DesiredNumber] = []
    warnings: list[str] = []
    for change in plan.changes:
        before = change.before
        if before is None:
            numbers.append(_number(change.normalized, "absent", None, None))
        elif change.action == "delete" and before == UNROUTED:
            warnings.append(
                f"{display(change.normalized)} was detached before it was deleted; "
                "it cannot be re-created without an assistant, so the undo plan leaves it out"
            )
        else:
            numbers.append(
                _number(change.normalized, "present", before.assistant_id, before.strategy_id)
            )
    state = desired._replace(
        numbers=tuple(sorted(numbers, key=lambda n: n.normalized)),
        unmanaged="ignore",
        files=(),
        purpose="undo",
    )
    return state, warnings


def _number(
    normalized: str, ensure: str, assistant: str | None, strategy: str | None
) -> DesiredNumber:
    return DesiredNumber(
        normalized=normalized,
        e164="+" + normalized,
        ensure="absent" if ensure == "absent" else "present",
        assistant_id=assistant,
        strategy_id=strategy,
        source="undo",
        description="restored by the undo plan",
    )
