"""Wording shared by every format: how bindings, changes and drift read to a person.

Each function that puts data (a number, a name, an alias) into its words takes the format's
escape function from `render.escape` and applies it to the data alone, never to the words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from inbound_sync.phone import display
from inbound_sync.plan import Binding, Change, Plan, RemoteRow
from inbound_sync.render.escape import Escape

if TYPE_CHECKING:
    from inbound_sync.provenance.baseline import Sighting

SYMBOLS = {"assign": "+", "update": "~", "detach": "!", "delete": "-"}
COLORS = {"assign": "green", "update": "yellow", "detach": "magenta", "delete": "red"}


def number(change: Change | RemoteRow, esc: Escape) -> str:
    # A key the API sent that does not parse is shown as it came, so it is data too.
    return esc(display(change.normalized))


def label(plan: Plan, ident: str | None, esc: Escape) -> str:
    return esc(plan.label(ident))


def binding(plan: Plan, value: Binding | None, esc: Escape) -> str:
    """'support + crm', 'support', or 'detached'."""
    if value is None:
        return "released"
    if value.assistant_id is None and value.strategy_id is None:
        return "detached"
    text = f"assistant {label(plan, value.assistant_id, esc)}"
    strategy = f" + strategy {label(plan, value.strategy_id, esc)}" if value.strategy_id else ""
    return text + strategy


def difference(plan: Plan, change: Change, esc: Escape) -> str:
    """What the change does to the number, before -> after where both exist."""
    if change.action == "assign":
        return binding(plan, change.after, esc)
    if change.action in ("delete", "detach"):
        return f"{binding(plan, change.before, esc)} → {binding(plan, change.after, esc)}"
    before, after = change.before or Binding(None, None), change.after or Binding(None, None)
    parts = []
    if before.assistant_id != after.assistant_id:
        parts.append(
            f"assistant {label(plan, before.assistant_id, esc)} → "
            f"{label(plan, after.assistant_id, esc)}"
        )
    if before.strategy_id != after.strategy_id:
        parts.append(
            f"strategy {label(plan, before.strategy_id, esc)} → "
            f"{label(plan, after.strategy_id, esc)}"
        )
    return ", ".join(parts)


def drift_reason(plan: Plan, change: Change, esc: Escape) -> str:
    """The change read as a report of what the account has that git does not."""
    account, git = binding(plan, change.before, esc), binding(plan, change.after, esc)
    if change.source is None:
        return f"not declared in git; account has {account}"
    reasons = {
        "assign": f"missing from the account; git has {git}",
        "update": f"changed out of band: account has {account}, git has {git}",
        "detach": f"routed in the account ({account}); git keeps it detached",
        "delete": f"still in the account ({account}); git says absent",
    }
    return reasons[change.action]


def summary_line(plan: Plan) -> str:
    s = plan.summary
    if not plan.changes:
        return f"No changes. {s.unchanged} unchanged, {s.unmanaged} unmanaged."
    return (
        f"Plan: {s.assign} to assign, {s.update} to update, {s.detach} to detach, "
        f"{s.delete} to delete; {s.unchanged} unchanged, {s.unmanaged} unmanaged."
    )


def drift_line(plan: Plan, seen: Mapping[str, Sighting] | None = None) -> str:
    """The headline; with a baseline, how many of the differences are new since it."""
    count = len(plan.changes)
    if not count:
        return f"In sync: the account matches git ({plan.summary.unmanaged} unmanaged)."
    line = f"Drift: {count} number{'s differ' if count != 1 else ' differs'} from git"
    if seen is None:
        return line + "."
    new = sum(1 for c in plan.changes if (s := seen.get(c.normalized)) is None or s.new)
    return f"{line}; {new} new since the last check."


def unmanaged_row(plan: Plan, row: RemoteRow, esc: Escape) -> str:
    return f"{number(row, esc):<18} {binding(plan, row.binding, esc)}"


def unmanaged_heading(plan: Plan) -> str:
    """What the unmanaged list is: for an undo plan, the numbers the undone apply left alone."""
    if plan.undo:
        return "Not part of the undo (this apply did not change them; left as they are)"
    return "Unmanaged (in the account, not in git; left alone)"


def unmanaged_summary(plan: Plan) -> str:
    count = len(plan.unmanaged)
    if plan.undo:
        return f"Numbers not part of the undo ({count}), left as they are"
    return f"Unmanaged numbers ({count}), left alone"


def override_hint(plan: Plan, *, reviewed: bool = False) -> str:
    """How to go ahead, naming only the overrides that apply to this refusal.

    `reviewed` words it for a pull request, where the override belongs in the change itself.
    """
    protected = sum(1 for c in plan.changes if c.protect and c.destructive)
    hints = []
    if len(plan.refusals) > protected and reviewed:
        hints.append(
            "to exceed the thresholds, raise `safety.max_destructive` / "
            "`safety.max_destructive_percent` in this change, so that the override is reviewed"
        )
    elif len(plan.refusals) > protected:
        hints.append(
            "to exceed the thresholds, pass --allow-destructive, or raise "
            "safety.max_destructive / safety.max_destructive_percent in a reviewed commit"
        )
    if protected:
        hints.append(
            "to change a protected number, remove its `protect: true` in a reviewed commit "
            "(--allow-destructive does not override it)"
        )
    return "Review the plan; " + "; ".join(hints) + "."
