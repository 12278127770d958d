"""Markdown for pull-request comments and step summaries.

Data is written through `escape.markdown` (or `escape.markdown_code` inside a code span), so no
name can add a tag, break a table row or close the `<details>` around the unmanaged numbers.
"""

from __future__ import annotations

from inbound_sync.plan import Change, Plan
from inbound_sync.render import escape, words

EMOJI = {"assign": "🟢", "update": "🟡", "detach": "🟠", "delete": "🔴"}


def _source(change: Change) -> str:
    return escape.markdown_code(change.source) if change.source else "unmanaged"


def format_plan(plan: Plan, *, title: str = "inbound-sync plan") -> str:
    lines = [f"### {title}", "", f"**{words.summary_line(plan)}**", ""]
    if plan.changes:
        lines += ["| | Action | Number | Change | Source |", "|---|---|---|---|---|"]
        lines += [
            f"| {EMOJI[c.action]} | {c.action} | {words.number(c, escape.markdown)} | "
            f"{words.difference(plan, c, escape.markdown)} | {_source(c)} |"
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
            f"| {words.number(c, escape.markdown)} | "
            f"{words.drift_reason(plan, c, escape.markdown)} | {_source(c)} |"
            for c in plan.changes
        ]
        lines.append("")
    lines += _tail(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def _refusals(plan: Plan) -> list[str]:
    if not plan.refusals:
        return []
    lines = ["> [!CAUTION]", "> **Refused by the safety guards; nothing will be written.**"]
    lines += [f"> - {escape.markdown(r)}" for r in plan.refusals]
    lines += [">", f"> {words.override_hint(plan, reviewed=True)}"]
    return [*lines, ""]


def _tail(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.unmanaged:
        lines += [
            f"<details><summary>{words.unmanaged_summary(plan)}</summary>",
            "",
            *[f"- {words.unmanaged_row(plan, row, escape.markdown)}" for row in plan.unmanaged],
            "",
            "</details>",
            "",
        ]
    if plan.warnings:
        lines += ["**Warnings**", "", *[f"- {escape.markdown(w)}" for w in plan.warnings], ""]
    return lines
