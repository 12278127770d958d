"""Markdown for pull-request comments and step summaries.

Data is written through `escape.markdown` (or `escape.markdown_code` inside a code span), so no
name can add a tag, break a table row or close the `<details>` around the unmanaged numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from inbound_sync.plan import Change, Plan
from inbound_sync.render import escape, words
from inbound_sync.render import provenance as origin

if TYPE_CHECKING:
    from inbound_sync.provenance import Provenance, Provenances
    from inbound_sync.provenance.baseline import Sighting

EMOJI = {"assign": "🟢", "update": "🟡", "detach": "🟠", "delete": "🔴"}


def _source(change: Change) -> str:
    return escape.markdown_code(change.source) if change.source else "unmanaged"


def format_plan(
    plan: Plan, *, title: str = "inbound-sync plan", provenance: Provenances | None = None
) -> str:
    lines = [f"### {title}", "", f"**{words.summary_line(plan)}**", ""]
    if plan.changes:
        extra = " Last changed |" if provenance else ""
        lines += [f"| | Action | Number | Change | Source |{extra}", "|---|---|---|---|---|"]
        lines[-1] += "---|" if provenance else ""
        lines += [
            f"| {EMOJI[c.action]} | {c.action} | {words.number(c, escape.markdown)} | "
            f"{words.difference(plan, c, escape.markdown)} | {_source(c)} |"
            + _cells(c, provenance, None)
            for c in plan.changes
        ]
        lines.append("")
    lines += _refusals(plan) + _tail(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def format_drift(
    plan: Plan,
    *,
    title: str = "inbound-sync drift",
    provenance: Provenances | None = None,
    seen: Mapping[str, Sighting] | None = None,
) -> str:
    lines = [f"### {title}", "", f"**{words.drift_line(plan, seen)}**", ""]
    if plan.changes:
        head = "| Number | What differs | Source |"
        head += (" Last changed |" if provenance else "") + (" Reported |" if seen else "")
        lines += [head, "|---" * head.count(" |") + "|"]
        lines += [
            f"| {words.number(c, escape.markdown)} | "
            f"{words.drift_reason(plan, c, escape.markdown)} | {_source(c)} |"
            + _cells(c, provenance, seen)
            for c in plan.changes
        ]
        lines.append("")
    lines += _tail(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def _cells(
    change: Change, provenance: Provenances | None, seen: Mapping[str, Sighting] | None
) -> str:
    """The provenance and baseline cells of a change's row, as many as the header has."""
    cells = ""
    if provenance is not None:
        found = provenance.get(change.normalized)
        cells += f" {_provenance(change, found, provenance) if found else ''} |"
    if seen is not None:
        sighting = seen.get(change.normalized)
        cells += f" {origin.sighting(sighting) if sighting else ''} |"
    return cells


def _provenance(change: Change, found: Provenance, provenance: Provenances) -> str:
    now, esc = provenance.now, escape.markdown
    parts = [
        f"account: {origin.account(change, found, now, esc)}",
        f"git: {origin.git(found, now, esc)}",
    ]
    said = origin.verdict(found)
    return " · ".join([*parts, f"**{said}**"] if said else parts)


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
