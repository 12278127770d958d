"""Plain text, in Terraform's spirit: one line per change, colour only when asked.

Data is shown through `escape.text` before any colour is added, so only our own codes are raw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from inbound_sync.output import style
from inbound_sync.plan import Change, Plan
from inbound_sync.render import escape, words
from inbound_sync.render import provenance as origin

if TYPE_CHECKING:
    from inbound_sync.provenance import Provenances
    from inbound_sync.provenance.baseline import Sighting


def _where(change: Change, unmanaged: str) -> str:
    return f"  ({escape.text(change.source)})" if change.source else unmanaged


def format_plan(plan: Plan, *, color: bool = False, provenance: Provenances | None = None) -> str:
    lines = []
    for change in plan.changes:
        symbol = style(
            f"{words.SYMBOLS[change.action]} {change.action:<6}",
            color,
            fg=words.COLORS[change.action],
            bold=True,
        )
        number = words.number(change, escape.text)
        difference = words.difference(plan, change, escape.text)
        lines.append(f"  {symbol}  {number:<18} {difference}{_where(change, '  (unmanaged)')}")
        lines += _details(change, provenance, None)
    if lines:
        lines.append("")
    lines.append(words.summary_line(plan))
    lines.extend(_tail(plan, color))
    return "\n".join(lines) + "\n"


def format_drift(
    plan: Plan,
    *,
    color: bool = False,
    provenance: Provenances | None = None,
    seen: Mapping[str, Sighting] | None = None,
) -> str:
    lines = [words.drift_line(plan, seen)]
    for change in plan.changes:
        symbol = style(
            words.SYMBOLS[change.action], color, fg=words.COLORS[change.action], bold=True
        )
        number = words.number(change, escape.text)
        reason = words.drift_reason(plan, change, escape.text)
        lines.append(f"  {symbol} {number:<18} {reason}{_where(change, '')}")
        lines += _details(change, provenance, seen)
    lines.extend(_tail(plan, color))
    return "\n".join(lines) + "\n"


def _details(
    change: Change, provenance: Provenances | None, seen: Mapping[str, Sighting] | None
) -> list[str]:
    """The lines under a change: who changed it last on each side, and whether it is news."""
    lines = []
    found = provenance.get(change.normalized) if provenance else None
    if provenance and found:
        now = provenance.now
        lines.append(f"      account  {origin.account(change, found, now, escape.text)}")
        lines.append(f"      git      {origin.git(found, now, escape.text)}")
        if said := origin.verdict(found):
            lines.append(f"      => {said}")
    sighting = seen.get(change.normalized) if seen else None
    if sighting is not None:
        lines.append(f"      {origin.sighting(sighting)}")
    return lines


def format_refusals(plan: Plan, *, color: bool = False) -> str:
    head = style("Refused by the safety guards:", color, fg="red", bold=True)
    body = [f"  - {escape.text(reason)}" for reason in plan.refusals]
    return "\n".join([head, *body, "Nothing was written. " + words.override_hint(plan)]) + "\n"


def _tail(plan: Plan, color: bool) -> list[str]:
    lines: list[str] = []
    if plan.unmanaged:
        lines += ["", words.unmanaged_heading(plan) + ":"]
        lines += [f"  {words.unmanaged_row(plan, row, escape.text)}" for row in plan.unmanaged]
    if plan.warnings:
        lines += ["", style("Warnings:", color, fg="yellow", bold=True)]
        # Warnings and refusals are the planner's sentences with data in them; the sentences
        # hold no control character, so escaping the whole is escaping the data.
        lines += [f"  - {escape.text(w)}" for w in plan.warnings]
    return lines
