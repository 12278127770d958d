"""GitHub Actions workflow commands: an annotation at the config line of each changed number."""

from __future__ import annotations

from inbound_sync.plan import Change, Plan
from inbound_sync.render import words


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, source: str | None, title: str) -> str:
    """One `::level file=F,line=N,title=T::message` line."""
    props = []
    path, _, line = (source or "").rpartition(":")
    if path and line.isdigit():
        props += [f"file={_escape_property(path)}", f"line={line}"]
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def _plan_message(plan: Plan, change: Change) -> str:
    return f"{change.action} {words.number(change)}: {words.difference(plan, change)}"


def format_plan(plan: Plan) -> str:
    lines = [
        annotation("notice", _plan_message(plan, c), c.source, "inbound-sync plan")
        for c in plan.changes
    ]
    lines += [annotation("error", r, None, "inbound-sync: refused") for r in plan.refusals]
    lines += [annotation("warning", w, None, "inbound-sync") for w in plan.warnings]
    lines.append(words.summary_line(plan))
    return "\n".join(lines) + "\n"


def format_drift(plan: Plan) -> str:
    lines = [
        annotation(
            "warning",
            f"{words.number(c)}: {words.drift_reason(plan, c)}",
            c.source,
            "inbound-sync drift",
        )
        for c in plan.changes
    ]
    lines += [annotation("warning", w, None, "inbound-sync") for w in plan.warnings]
    lines.append(words.drift_line(plan))
    return "\n".join(lines) + "\n"
