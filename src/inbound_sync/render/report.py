"""The apply report: what each change became, and whether the account converged.

Numbers, names and the server's messages are data: each format escapes them with its function
from `render.escape` (JSON with json.dumps), the progress line as text.
"""

from __future__ import annotations

from typing import Any

from inbound_sync.apply import ApplyReport, Outcome
from inbound_sync.output import style
from inbound_sync.plan.model import change_data
from inbound_sync.plan.saved import dumps
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
    if report.expired and not report.interrupted:
        return (
            f"Stopped at the run's deadline: {c['done']} done, {c['failed']} failed,"
            f" {c['skipped']} skipped (not applied)."
        )
    head = "Interrupted" if report.interrupted else "Apply finished"
    return f"{head}: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped."


def rate_limit_line(report: ApplyReport) -> str | None:
    """How the API's rate limit slowed the run; None when it never answered 429."""
    if not report.rate_limited:
        return None
    answers = "answer" if report.rate_limited == 1 else "answers"
    return (
        f"Rate limit: {report.rate_limited} {answers} 429 from the API;"
        f" every request paused {seconds(report.paused_s)} s in all."
    )


def seconds(value: float) -> str:
    """'0.5', '12', '1,234': a duration as people read it."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def pause_line(kind: str, wait: float, asked: bool) -> str:
    """The line the progress log prints when a pause of every request begins or ends."""
    if kind == "end":
        return f"Resumed after a pause of {seconds(wait)} s for the API's rate limit."
    return f"Paused: {waiting_for_rate_limit(wait, asked)}; every request waits."


def waiting_for_rate_limit(wait: float, asked: bool) -> str:
    """'waiting for the API's rate limit (Retry-After 30 s)'."""
    why = f"Retry-After {seconds(wait)} s" if asked else f"backing off {seconds(wait)} s"
    return f"waiting for the API's rate limit ({why})"


def progress_status(done: int, total: int, elapsed: float) -> str:
    """'12.5/s, 1:20 left': the pace of the changes so far, and the time the rest would take."""
    if done == 0 or elapsed <= 0:
        return ""
    rate = done / elapsed
    left = round((total - done) / rate)
    return f"{rate:.3g}/s, {left // 60}:{left % 60:02d} left"


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
    lines += ["", summary_line(report), *_limited(report), convergence_line(report, escape.text)]
    plan = report.remaining
    if report.unverified is None:
        lines += [
            f"  {c.action} {words.number(c, escape.text)}: {words.difference(plan, c, escape.text)}"
            for c in plan.changes
        ]
    return "\n".join(lines) + "\n"


def _limited(report: ApplyReport) -> list[str]:
    line = rate_limit_line(report)
    return [line] if line is not None else []


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
        "deadline_passed": report.expired,
        "rate_limit": {
            "answered_429": report.rate_limited,
            "paused_s": round(report.paused_s, 3),
        },
        "remaining": [change_data(c) for c in report.remaining.changes],
    }


def format_json(report: ApplyReport) -> str:
    # Written as the plan document is, so that both stay alike and equally fast.
    return dumps(document(report))


def format_markdown(report: ApplyReport) -> str:
    lines = [
        "### inbound-sync apply",
        "",
        f"**{summary_line(report)} {convergence_line(report, escape.markdown)}**",
        "",
        *(f"{line}\n" for line in _limited(report)),
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
    lines += [summary_line(report), *_limited(report), converged]
    return "\n".join(lines) + "\n"
