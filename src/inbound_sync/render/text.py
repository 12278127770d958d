"""Plain text, in Terraform's spirit: one line per change, colour only when asked."""

from __future__ import annotations

from inbound_sync.output import style
from inbound_sync.plan import Plan
from inbound_sync.render import words


def format_plan(plan: Plan, *, color: bool = False) -> str:
    lines = []
    for change in plan.changes:
        symbol = style(
            f"{words.SYMBOLS[change.action]} {change.action:<6}",
            color,
            fg=words.COLORS[change.action],
            bold=True,
        )
        where = f"  ({change.source})" if change.source else "  (unmanaged)"
        lines.append(
            f"  {symbol}  {words.number(change):<18} {words.difference(plan, change)}{where}"
        )
    if lines:
        lines.append("")
    lines.append(words.summary_line(plan))
    lines.extend(_tail(plan, color))
    return "\n".join(lines) + "\n"


def format_drift(plan: Plan, *, color: bool = False) -> str:
    lines = [words.drift_line(plan)]
    for change in plan.changes:
        symbol = style(
            words.SYMBOLS[change.action], color, fg=words.COLORS[change.action], bold=True
        )
        where = f"  ({change.source})" if change.source else ""
        lines.append(
            f"  {symbol} {words.number(change):<18} {words.drift_reason(plan, change)}{where}"
        )
    lines.extend(_tail(plan, color))
    return "\n".join(lines) + "\n"


def format_refusals(plan: Plan, *, color: bool = False) -> str:
    head = style("Refused by the safety guards:", color, fg="red", bold=True)
    body = [f"  - {reason}" for reason in plan.refusals]
    hint = (
        "Nothing was written. Review the plan; to proceed, pass --allow-destructive "
        "(thresholds) or remove `protect: true` in a reviewed commit."
    )
    return "\n".join([head, *body, hint]) + "\n"


def _tail(plan: Plan, color: bool) -> list[str]:
    lines: list[str] = []
    if plan.unmanaged:
        lines += ["", "Unmanaged (in the account, not in git; left alone):"]
        lines += [f"  {words.unmanaged_row(plan, row)}" for row in plan.unmanaged]
    if plan.warnings:
        lines += ["", style("Warnings:", color, fg="yellow", bold=True)]
        lines += [f"  - {w}" for w in plan.warnings]
    return lines
