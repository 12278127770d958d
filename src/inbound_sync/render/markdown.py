"""Markdown for pull-request comments and step summaries."""

from __future__ import annotations

from inbound_sync.plan import Change, Plan
from inbound_sync.render import words

EMOJI = {"assign": "🟢", "update": "🟡", "detach": "🟠", "delete": "🔴"}


def cell(text: str | None) -> str:
    """Text safe inside a Markdown table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _source(change: Change) -> str:
    return f"`{change.source}`" if change.source else "unmanaged"


def format_plan(plan: Plan, *, title: str = "inbound-sync plan") -> str:
    lines = [f"### {title}", "", f"**{words.summary_line(plan)}**", ""]
    if plan.changes:
        lines += ["| | Action | Number | Change | Source |", "|---|---|---|---|---|"]
        lines += [
            f"| {EMOJI[c.action]} | {c.action} | {words.number(c)} | "
            f"{cell(words.difference(plan, c))} | {_source(c)} |"
            for c in plan.changes
        ]
        lines.append("")
    lines += _refusals(plan) + _tail(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def format_drift(plan: Plan, *, title: str = "inbound-sync drift") -> str:
    lines = [f"### {title}", "", f"**{words.drift_line(plan)}**", ""]
    if plan.changes:
        lines += ["| Number | What differs | Source |", "|---|---|---|"]
        lines += [
            f"| {words.number(c)} | {cell(words.drift_reason(plan, c))} | {_source(c)} |"
            for c in plan.changes
        ]
        lines.append("")
    lines += _tail(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def _refusals(plan: Plan) -> list[str]:
    if not plan.refusals:
        return []
    lines = ["> [!CAUTION]", "> **Refused by the safety guards; nothing will be written.**"]
    lines += [f"> - {cell(r)}" for r in plan.refusals]
    return [*lines, ""]


def _tail(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.unmanaged:
        lines += [
            f"<details><summary>Unmanaged numbers ({len(plan.unmanaged)}), left alone</summary>",
            "",
            *[f"- {cell(words.unmanaged_row(plan, row))}" for row in plan.unmanaged],
            "",
            "</details>",
            "",
        ]
    if plan.warnings:
        lines += ["**Warnings**", "", *[f"- {cell(w)}" for w in plan.warnings], ""]
    return lines
