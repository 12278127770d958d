"""A fleet plan or drift report in text, markdown and github: a section per target, the moves,
and a fleet summary (per target and total). JSON is `inbound_sync.fleet.saved.fleet_document`.

The changes of a move appear in both targets' sections, each pointing at the other target, and
once more as one line under "Moves". Data is escaped as in every other renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from inbound_sync.fleet import FleetPlan, Move, TargetFailure, TargetPlan
from inbound_sync.fleet.moves import moves_by_change
from inbound_sync.fleet.saved import move_data, totals
from inbound_sync.output import style
from inbound_sync.phone import display
from inbound_sync.plan import Change, Plan
from inbound_sync.plan.model import change_data
from inbound_sync.plan.saved import unmanaged_data
from inbound_sync.render import escape, words
from inbound_sync.render.escape import Escape
from inbound_sync.render.github import annotation

Links = Mapping[tuple[str, str, str], Move]
Entry = TargetPlan | TargetFailure


def entries(plan: FleetPlan) -> list[Entry]:
    """Targets planned and targets failed, together in name order."""
    found: list[Entry] = [*plan.targets, *plan.failures]
    return sorted(found, key=lambda e: e.name)


def move_line(move: Move, esc: Escape) -> str:
    """'move +91 80 4431 9240 from prod-a to prod-b'."""
    number = esc(display(move.normalized))
    return f"move {number} from {esc(move.source)} to {esc(move.dest)}"


def _pointer(name: str, change: Change, links: Links) -> str | None:
    move = links.get((name, change.action, change.normalized))
    if move is None:
        return None
    return f"move to {move.dest}" if move.source == name else f"move from {move.source}"


def summary_words(plan: Plan) -> str:
    """A target's counts, without the sentence around them."""
    s = plan.summary
    if not plan.changes:
        return f"no changes; {s.unchanged} unchanged, {s.unmanaged} unmanaged"
    return (
        f"{s.assign} to assign, {s.update} to update, {s.detach} to detach, "
        f"{s.delete} to delete; {s.unchanged} unchanged, {s.unmanaged} unmanaged"
    )


def total_words(document_totals: Mapping[str, int]) -> str:
    t = document_totals
    return (
        f"{t['assign']} to assign, {t['update']} to update, {t['detach']} to detach, "
        f"{t['delete']} to delete; {t['unchanged']} unchanged, {t['unmanaged']} unmanaged"
    )


def headline(plan: FleetPlan) -> str:
    """'Fleet: 3 targets, 2 with changes, 1 move, 1 failed.'"""
    count = len(plan.targets) + len(plan.failures)
    changed = sum(1 for t in plan.targets if t.plan.changes)
    parts = [f"{count} target{'s' if count != 1 else ''}", f"{changed} with changes"]
    parts.append(f"{len(plan.moves)} move{'s' if len(plan.moves) != 1 else ''}")
    if plan.failures:
        parts.append(f"{len(plan.failures)} failed")
    return "Fleet: " + ", ".join(parts) + "."


# -- text ---------------------------------------------------------------------------------


def format_plan(plan: FleetPlan, *, color: bool = False) -> str:
    links = moves_by_change(plan)
    lines: list[str] = []
    for entry in entries(plan):
        lines += _text_section(
            entry, color, lambda t, c: _text_change(t, c, links, color), words.summary_line
        )
    lines += _text_moves(plan)
    lines += _text_summary(plan, summary_words, total_words(totals(plan)))
    return "\n".join(lines) + "\n"


def format_drift(plan: FleetPlan, *, color: bool = False) -> str:
    links = moves_by_change(plan)
    lines: list[str] = []
    for entry in entries(plan):
        lines += _text_section(
            entry, color, lambda t, c: _text_drift(t, c, links, color), words.drift_line
        )
    lines += _text_moves(plan)
    lines += _text_summary(plan, _drift_words, _drift_total(plan))
    return "\n".join(lines) + "\n"


def heading(entry: Entry | TargetPlan, color: bool) -> str:
    """'Target NAME (URL)', the name in bold on a terminal."""
    head = style(f"Target {escape.text(entry.name)}", color, bold=True)
    return f"{head} ({escape.text(entry.target.api_url)})"


def _drift_words(plan: Plan) -> str:
    return words.drift_line(plan).rstrip(".")


def _drift_total(plan: FleetPlan) -> str:
    count = plan.changes
    return f"{count} number{'s differ' if count != 1 else ' differs'} from git"


def _text_section(
    entry: Entry,
    color: bool,
    line: Callable[[TargetPlan, Change], str],
    summary: Callable[[Plan], str],
) -> list[str]:
    if isinstance(entry, TargetFailure):
        failed = style("failed:", color, fg="red", bold=True)
        return [heading(entry, color), f"  {failed} {_text_lines(entry.message)}", ""]
    lines = [heading(entry, color)]
    lines += [line(entry, change) for change in entry.plan.changes]
    lines += [f"  {s}" if s else s for s in _text_tail(entry.plan, color, summary)]
    return [*lines, ""]


def _text_lines(message: str) -> str:
    return "\n    ".join(escape.text(part) for part in message.split("\n"))


def _text_change(target: TargetPlan, change: Change, links: Links, color: bool) -> str:
    plan = target.plan
    symbol = style(
        f"{words.SYMBOLS[change.action]} {change.action:<6}",
        color,
        fg=words.COLORS[change.action],
        bold=True,
    )
    number = words.number(change, escape.text)
    difference = words.difference(plan, change, escape.text)
    return f"  {symbol}  {number:<18} {difference}  ({_text_where(target.name, change, links)})"


def _text_drift(target: TargetPlan, change: Change, links: Links, color: bool) -> str:
    symbol = style(words.SYMBOLS[change.action], color, fg=words.COLORS[change.action], bold=True)
    number = words.number(change, escape.text)
    reason = words.drift_reason(target.plan, change, escape.text)
    return f"  {symbol} {number:<18} {reason}  ({_text_where(target.name, change, links)})"


def _text_where(name: str, change: Change, links: Links) -> str:
    pointer = _pointer(name, change, links)
    source = escape.text(change.source) if change.source else None
    return ", ".join(p for p in (source, pointer) if p) or "unmanaged"


def _text_tail(plan: Plan, color: bool, summary: Callable[[Plan], str]) -> list[str]:
    lines = ["", summary(plan)]
    if plan.refusals:
        lines += [style("Refused by the safety guards:", color, fg="red", bold=True)]
        lines += [f"  - {escape.text(r)}" for r in plan.refusals]
    if plan.unmanaged:
        lines += [words.unmanaged_heading(plan) + ":"]
        lines += [f"  {words.unmanaged_row(plan, row, escape.text)}" for row in plan.unmanaged]
    if plan.warnings:
        lines += [style("Warnings:", color, fg="yellow", bold=True)]
        lines += [f"  - {escape.text(w)}" for w in plan.warnings]
    return lines


def _text_moves(plan: FleetPlan) -> list[str]:
    if not plan.moves:
        return []
    lines = ["Moves (each deletes in one account, then assigns in the other):"]
    lines += [f"  {move_line(m, escape.text)}" for m in plan.moves]
    return [*lines, ""]


def _text_summary(plan: FleetPlan, describe: Callable[[Plan], str], total: str) -> list[str]:
    rows = [
        (e.name, describe(e.plan) if isinstance(e, TargetPlan) else "failed") for e in entries(plan)
    ]
    rows.append(("total", total))
    width = max(len(name) for name, _ in rows)
    return [headline(plan), *(f"  {escape.text(n):<{width}}  {text}" for n, text in rows)]


def format_refusals(plan: FleetPlan, *, color: bool = False) -> str:
    """Each refused target's reasons, and how to go ahead, for stderr."""
    head = style("Refused by the safety guards:", color, fg="red", bold=True)
    lines = [head]
    for target in plan.refused():
        lines += [f"  {escape.text(target.name)}:"]
        lines += [f"    - {escape.text(reason)}" for reason in target.plan.refusals]
        lines += [f"    {words.override_hint(target.plan)}"]
    return "\n".join([*lines, "Nothing was written."]) + "\n"


# -- markdown -----------------------------------------------------------------------------

EMOJI = {"assign": "🟢", "update": "🟡", "detach": "🟠", "delete": "🔴"}


def format_plan_markdown(plan: FleetPlan, *, title: str = "inbound-sync fleet plan") -> str:
    links = moves_by_change(plan)
    lines = [f"### {title}", "", f"**{headline(plan)} Total: {total_words(totals(plan))}.**", ""]
    lines += _markdown_moves(plan)
    for entry in entries(plan):
        lines += _markdown_section(entry, links, drift=False)
    return "\n".join(lines).rstrip("\n") + "\n"


def format_drift_markdown(plan: FleetPlan, *, title: str = "inbound-sync fleet drift") -> str:
    links = moves_by_change(plan)
    lines = [f"### {title}", "", f"**{headline(plan)}**", ""]
    lines += _markdown_moves(plan)
    for entry in entries(plan):
        lines += _markdown_section(entry, links, drift=True)
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_moves(plan: FleetPlan) -> list[str]:
    if not plan.moves:
        return []
    lines = ["**Moves** (each deletes in one account, then assigns in the other)", ""]
    lines += [f"- {move_line(m, escape.markdown)}" for m in plan.moves]
    return [*lines, ""]


def _markdown_section(entry: Entry, links: Links, *, drift: bool) -> list[str]:
    name = escape.markdown(entry.name)
    if isinstance(entry, TargetFailure):
        return [
            "> [!WARNING]",
            f"> **{name} could not be planned:** {escape.markdown(entry.message)}",
            "",
        ]
    plan = entry.plan
    line = words.drift_line(plan) if drift else words.summary_line(plan)
    # A target without changes is collapsed: the comment stays short however large the fleet.
    opened = " open" if plan.changes else ""
    lines = [f"<details{opened}><summary><b>{name}</b>: {line}</summary>", ""]
    if plan.changes and drift:
        lines += ["| Number | What differs | Source |", "|---|---|---|"]
        lines += [
            f"| {words.number(c, escape.markdown)} | "
            f"{words.drift_reason(plan, c, escape.markdown)} | {_md_where(entry.name, c, links)} |"
            for c in plan.changes
        ]
        lines.append("")
    elif plan.changes:
        lines += ["| | Action | Number | Change | Source |", "|---|---|---|---|---|"]
        lines += [
            f"| {EMOJI[c.action]} | {c.action} | {words.number(c, escape.markdown)} | "
            f"{words.difference(plan, c, escape.markdown)} | {_md_where(entry.name, c, links)} |"
            for c in plan.changes
        ]
        lines.append("")
    lines += _markdown_tail(plan)
    return [*lines, "</details>", ""]


def _md_where(name: str, change: Change, links: Links) -> str:
    pointer = _pointer(name, change, links)
    source = escape.markdown_code(change.source) if change.source else None
    return ", ".join(p for p in (source, pointer) if p) or "unmanaged"


def _markdown_tail(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.refusals:
        lines += ["> [!CAUTION]", "> **Refused by the safety guards; nothing will be written.**"]
        lines += [f"> - {escape.markdown(r)}" for r in plan.refusals]
        lines.append("")
    if plan.unmanaged:
        lines += [f"{words.unmanaged_summary(plan)}:", ""]
        lines += [f"- {words.unmanaged_row(plan, row, escape.markdown)}" for row in plan.unmanaged]
        lines.append("")
    if plan.warnings:
        lines += ["**Warnings**", "", *[f"- {escape.markdown(w)}" for w in plan.warnings], ""]
    return lines


# -- github -------------------------------------------------------------------------------


def format_plan_github(plan: FleetPlan) -> str:
    links = moves_by_change(plan)
    lines: list[str] = []
    for target in plan.targets:
        title = f"inbound-sync plan: {target.name}"
        for change in target.plan.changes:
            message = (
                f"{change.action} {words.number(change, escape.text)}: "
                f"{words.difference(target.plan, change, escape.text)}"
            )
            pointer = _pointer(target.name, change, links)
            message += f" ({pointer})" if pointer else ""
            lines.append(annotation("notice", message, change.source, title))
        lines += [annotation("error", r, None, f"{title}: refused") for r in target.plan.refusals]
        lines += [annotation("warning", w, None, title) for w in target.plan.warnings]
    lines += _github_failures(plan)
    lines += _text_moves(plan)
    lines += _text_summary(plan, summary_words, total_words(totals(plan)))
    return "\n".join(lines) + "\n"


def format_drift_github(plan: FleetPlan) -> str:
    lines: list[str] = []
    for target in plan.targets:
        title = f"inbound-sync drift: {target.name}"
        lines += [
            annotation(
                "warning",
                f"{words.number(c, escape.text)}: "
                f"{words.drift_reason(target.plan, c, escape.text)}",
                c.source,
                title,
            )
            for c in target.plan.changes
        ]
        lines += [annotation("warning", w, None, title) for w in target.plan.warnings]
    lines += _github_failures(plan)
    lines += _text_summary(plan, _drift_words, _drift_total(plan))
    return "\n".join(lines) + "\n"


def _github_failures(plan: FleetPlan) -> list[str]:
    return [
        annotation("error", f.message, None, f"inbound-sync: {f.name} failed")
        for f in plan.failures
    ]


# -- json of drift --------------------------------------------------------------------------


def drift_document(plan: FleetPlan) -> dict[str, Any]:
    """Per target: "in_sync", "drift" (each change with its reason), "unmanaged", "warnings"."""
    links = moves_by_change(plan)
    return {
        "format_version": 2,
        "in_sync": not plan.changes and not plan.failures,
        "targets": {t.name: _target_drift(t, links) for t in plan.targets},
        "moves": [move_data(m) for m in plan.moves],
        "errors": {f.name: f.message for f in plan.failures},
    }


def _target_drift(target: TargetPlan, links: Links) -> dict[str, Any]:
    plan = target.plan
    drift = []
    for change in plan.changes:
        item = {**change_data(change), "reason": words.drift_reason(plan, change, escape.json)}
        move = links.get((target.name, change.action, change.normalized))
        if move is not None:
            item["move"] = move.id
        drift.append(item)
    return {
        "api_url": target.target.api_url,
        "in_sync": not plan.changes,
        "drift": drift,
        "summary": plan.summary.to_json(),
        "unmanaged": unmanaged_data(plan),
        "warnings": list(plan.warnings),
    }
