"""GitHub Actions workflow commands: an annotation at the config line of each changed number.

A message is words with data in them; the data is made visible as in text output, then the whole
message gets the workflow-command encoding (`escape.github_message`), the file and title theirs
(`escape.github_property`). No datum can end the line or the command.
"""

from __future__ import annotations

from inbound_sync.plan import Change, Plan
from inbound_sync.render import escape, words


def annotation(level: str, message: str, source: str | None, title: str) -> str:
    """One `::level file=F,line=N,title=T::message` line."""
    props = []
    path, _, line = (source or "").rpartition(":")
    if path and line.isascii() and line.isdigit():
        props += [f"file={escape.github_property(path)}", f"line={line}"]
    props.append(f"title={escape.github_property(title)}")
    return f"::{level} {','.join(props)}::{escape.github_message(message)}"


def _plan_message(plan: Plan, change: Change) -> str:
    number = words.number(change, escape.text)
    return f"{change.action} {number}: {words.difference(plan, change, escape.text)}"


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
            f"{words.number(c, escape.text)}: {words.drift_reason(plan, c, escape.text)}",
            c.source,
            "inbound-sync drift",
        )
        for c in plan.changes
    ]
    lines += [annotation("warning", w, None, "inbound-sync") for w in plan.warnings]
    lines.append(words.drift_line(plan))
    return "\n".join(lines) + "\n"
