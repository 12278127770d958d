"""A fleet's apply report in each format: each target's report of a single account under its
name, then the fleet's totals. Outcomes of a move carry its id in JSON."""

from __future__ import annotations

from typing import Any

from inbound_sync.fleet.execute import FleetReport
from inbound_sync.fleet.saved import move_data
from inbound_sync.jsontext import indented
from inbound_sync.render import escape, words
from inbound_sync.render import report as report_words
from inbound_sync.render.fleet import heading
from inbound_sync.render.github import annotation


def report_counts(report: FleetReport) -> dict[str, int]:
    total = {"done": 0, "failed": 0, "skipped": 0}
    for item in report.targets:
        for key, value in report_words.counts(item.report).items():
            total[key] += value
    return total


def report_line(report: FleetReport) -> str:
    """'Fleet: 5 done, 0 failed, 1 skipped; 2 of 3 targets converged.'"""
    c = report_counts(report)
    converged = sum(1 for t in report.targets if t.report.converged)
    counted = f"{c['done']} done, {c['failed']} failed, {c['skipped']} skipped"
    if report.expired and not report.interrupted:
        counted = f"Stopped at the run's deadline: {counted} (not applied)"
    else:
        counted = f"{'Interrupted' if report.interrupted else 'Fleet'}: {counted}"
    return f"{counted}; {converged} of {len(report.targets)} targets converged."


def rate_limit_line(report: FleetReport) -> str | None:
    """How the APIs' rate limits slowed the whole run; None when no API answered 429."""
    if not report.rate_limited:
        return None
    answers = "answer" if report.rate_limited == 1 else "answers"
    return (
        f"Rate limit: {report.rate_limited} {answers} 429 over the fleet; requests paused"
        f" {report_words.seconds(report.paused_s)} s in all."
    )


def _totals(report: FleetReport) -> list[str]:
    limited = rate_limit_line(report)
    return [report_line(report), *([limited] if limited is not None else [])]


def format_report(report: FleetReport, *, color: bool = False) -> str:
    lines: list[str] = []
    for item in report.targets:
        lines.append(heading(item.target, color))
        body = report_words.format_text(item.report, color=color).rstrip("\n").split("\n")
        lines += [f"  {line}" if line else line for line in body]
        lines.append("")
    lines += _totals(report)
    return "\n".join(lines) + "\n"


def report_document(report: FleetReport) -> dict[str, Any]:
    """Per target, the apply report of a single account (less format_version); outcomes of a
    move carry its id."""
    links = {(m.source, "delete", m.normalized): m.id for m in report.moves} | {
        (m.dest, "assign", m.normalized): m.id for m in report.moves
    }
    targets: dict[str, Any] = {}
    for item in report.targets:
        document = report_words.document(item.report)
        del document["format_version"]
        for outcome in document["outcomes"]:
            move = links.get((item.name, outcome["action"], outcome["normalized"]))
            if move is not None:
                outcome["move"] = move
        targets[item.name] = document
    return {
        "format_version": 2,
        "targets": targets,
        "moves": [move_data(m) for m in report.moves],
        "summary": report_counts(report),
        "converged": report.converged,
        "interrupted": report.interrupted,
        "deadline_passed": report.expired,
        "rate_limit": {
            "answered_429": report.rate_limited,
            "paused_s": round(report.paused_s, 3),
        },
    }


def format_report_json(report: FleetReport) -> str:
    return indented(report_document(report)) + "\n"


def format_report_markdown(report: FleetReport) -> str:
    limited = rate_limit_line(report)
    lines = ["### inbound-sync fleet apply", "", f"**{report_line(report)}**", ""]
    lines += [limited, ""] if limited is not None else []
    for item in report.targets:
        body = report_words.format_markdown(item.report).rstrip("\n").split("\n")
        # Each target's report under its own heading, one level down.
        lines += [f"#### {escape.markdown(item.name)}", *body[1:], ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def format_report_github(report: FleetReport) -> str:
    lines: list[str] = []
    for item in report.targets:
        title = f"inbound-sync apply: {item.name}"
        lines += [
            annotation(
                "error",
                f"{o.change.action} {words.number(o.change, escape.text)} failed: "
                f"{escape.text(o.message)}",
                o.change.source,
                title,
            )
            for o in item.report.outcomes
            if o.status == "failed"
        ]
        converged = report_words.convergence_line(item.report, escape.text)
        if not item.report.converged:
            lines.append(annotation("error", converged, None, title))
        lines.append(
            f"{escape.text(item.name)}: {report_words.summary_line(item.report)} {converged}"
        )
    lines += _totals(report)
    return "\n".join(lines) + "\n"
