"""The apply report: what each change became, and whether the account converged.

Numbers, names and the server's messages are data: each format escapes them with its function
from `render.escape` (JSON with json.dumps), the progress line as text.
"""

from __future__ import annotations

import json
from typing import Any

from inbound_sync.apply import ApplyReport, Outcome
from inbound_sync.output import style
from inbound_sync.plan.model import change_data
from inbound_sync.render import escape, words
from inbound_sync.render.github import annotation

MARKS = {"done": "✓", "failed": "✗", "skipped": "-"}
COLORS = {"done": "green", "failed": "red", "skipped": "yellow"}


def counts(report: ApplyReport) -> dict[str, int]:
    result = {"done": 0, "failed": 0, "skipped": 0}
    for outcome in report.outcomes:
        result[outcome.status] += 1
    return result


def progress_line(outcome: Outcome, index: int, total: int) -> str:
    """One line per finished change, for logs that are not a terminal."""
    change = outcome.change
    head = f"[{index}/{total}] {outcome.status:<7} {change.action:<6}"
    line = f"{head} {words.number(change, escape.text)}"
    # A plain success says nothing its status did not ("done: done").
    return line if outcome.message == outcome.status else f"{line}: {escape.text(outcome.message)}"


def summary_line(report: ApplyReport) -> str:
    c = counts(report)
    head = "Interrupted" if report.interrupted else "Apply finished"
    return f"{head}: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped."


def convergence_line(report: ApplyReport, esc: escape.Escape) -> str:
    if report.unverified is not None:
        why = esc(report.unverified)
        return f"Not verified: {why}; run `inbound-sync plan` to see what remains."
    if report.converged:
        return "Converged: the account matches the desired state."
    return f"Not converged: {len(report.remaining.changes)} change(s) remain."


def format_text(report: ApplyReport, *, color: bool = False) -> str:
    lines = []
    for o in report.outcomes:
        mark = style(MARKS[o.status], color, fg=COLORS[o.status], bold=True)
        number = words.number(o.change, escape.text)
        lines.append(f"  {mark} {o.change.action:<6} {number:<18} {escape.text(o.message)}")
    lines += ["", summary_line(report), convergence_line(report, escape.text)]
    plan = report.remaining
    if report.unverified is None:
        lines += [
            f"  {c.action} {words.number(c, escape.text)}: {words.difference(plan, c, escape.text)}"
            for c in plan.changes
        ]
    return "\n".join(lines) + "\n"


def document(report: ApplyReport) -> dict[str, Any]:
    return {
        "format_version": 1,
        "outcomes": [
            {
                **change_data(o.change),
                "status": o.status,
                "message": o.message,
                "attempts": o.attempts,
            }
            for o in report.outcomes
        ],
        "summary": counts(report),
        "converged": report.converged,
        "verified": report.unverified is None,
        "verification_error": report.unverified,
        "interrupted": report.interrupted,
        "remaining": [change_data(c) for c in report.remaining.changes],
    }


def format_json(report: ApplyReport) -> str:
    return json.dumps(document(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def format_markdown(report: ApplyReport) -> str:
    lines = [
        "### inbound-sync apply",
        "",
        f"**{summary_line(report)} {convergence_line(report, escape.markdown)}**",
        "",
    ]
    if report.outcomes:
        lines += ["| | Action | Number | Result |", "|---|---|---|---|"]
        lines += [
            f"| {MARKS[o.status]} | {o.change.action} | "
            f"{words.number(o.change, escape.markdown)} | {escape.markdown(o.message)} |"
            for o in report.outcomes
        ]
    return "\n".join(lines) + "\n"


def format_github(report: ApplyReport) -> str:
    lines = [
        annotation(
            "error",
            f"{o.change.action} {words.number(o.change, escape.text)} failed: "
            f"{escape.text(o.message)}",
            o.change.source,
            "inbound-sync apply",
        )
        for o in report.outcomes
        if o.status == "failed"
    ]
    converged = convergence_line(report, escape.text)
    if not report.converged:
        lines.append(annotation("error", converged, None, "inbound-sync apply"))
    lines += [summary_line(report), converged]
    return "\n".join(lines) + "\n"
