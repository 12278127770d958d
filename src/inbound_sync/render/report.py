"""The apply report: what each change became, and whether the account converged."""

from __future__ import annotations

import json
from typing import Any

from inbound_sync.apply import ApplyReport, Outcome
from inbound_sync.output import style
from inbound_sync.plan.model import change_data
from inbound_sync.render import words
from inbound_sync.render.github import annotation
from inbound_sync.render.markdown import cell

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
    return f"{head} {words.number(change)}: {outcome.message}"


def summary_line(report: ApplyReport) -> str:
    c = counts(report)
    head = "Interrupted" if report.interrupted else "Apply finished"
    return f"{head}: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped."


def convergence_line(report: ApplyReport) -> str:
    if report.unverified is not None:
        return f"Not verified: {report.unverified}; run `inbound-sync plan` to see what remains."
    if report.converged:
        return "Converged: the account matches the desired state."
    return f"Not converged: {len(report.remaining.changes)} change(s) remain."


def format_text(report: ApplyReport, *, color: bool = False) -> str:
    lines = []
    for o in report.outcomes:
        mark = style(MARKS[o.status], color, fg=COLORS[o.status], bold=True)
        lines.append(f"  {mark} {o.change.action:<6} {words.number(o.change):<18} {o.message}")
    lines += ["", summary_line(report), convergence_line(report)]
    plan = report.remaining
    if report.unverified is None:
        lines += [
            f"  {c.action} {words.number(c)}: {words.difference(plan, c)}" for c in plan.changes
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
        f"**{summary_line(report)} {convergence_line(report)}**",
        "",
    ]
    if report.outcomes:
        lines += ["| | Action | Number | Result |", "|---|---|---|---|"]
        lines += [
            f"| {MARKS[o.status]} | {o.change.action} | {words.number(o.change)} | "
            f"{cell(o.message)} |"
            for o in report.outcomes
        ]
    return "\n".join(lines) + "\n"


def format_github(report: ApplyReport) -> str:
    lines = [
        annotation(
            "error",
            f"{o.change.action} {words.number(o.change)} failed: {o.message}",
            o.change.source,
            "inbound-sync apply",
        )
        for o in report.outcomes
        if o.status == "failed"
    ]
    if not report.converged:
        lines.append(annotation("error", convergence_line(report), None, "inbound-sync apply"))
    lines += [summary_line(report), convergence_line(report)]
    return "\n".join(lines) + "\n"
