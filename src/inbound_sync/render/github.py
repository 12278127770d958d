"""GitHub Actions workflow commands: an annotation at the config line of each changed number.

A message is words with data in them; the data is made visible as in text output, then the whole
message gets the workflow-command encoding (`escape.github_message`), the file and title theirs
(`escape.github_property`). No datum can end the line or the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from inbound_sync.plan import Change, Plan
from inbound_sync.render import escape, words
from inbound_sync.render import provenance as origin

if TYPE_CHECKING:
    from inbound_sync.provenance import Provenances
    from inbound_sync.provenance.baseline import Sighting


def annotation(level: str, message: str, source: str | None, title: str) -> str:
    """One `::level file=F,line=N,title=T::message` line."""
    props = []
    path, _, line = (source or "").rpartition(":")
    if path and line.isascii() and line.isdigit():
        props += [f"file={escape.github_property(path)}", f"line={line}"]
    props.append(f"title={escape.github_property(title)}")
    return f"::{level} {','.join(props)}::{escape.github_message(message)}"


def _plan_message(plan: Plan, change: Change, provenance: Provenances | None) -> str:
    number = words.number(change, escape.text)
    message = f"{change.action} {number}: {words.difference(plan, change, escape.text)}"
    return message + _said(change, provenance, None)


def _said(
    change: Change, provenance: Provenances | None, seen: Mapping[str, Sighting] | None
) -> str:
    """Provenance and news of a change, appended to its message (an annotation is one line)."""
    found = provenance.get(change.normalized) if provenance else None
    text = ""
    if provenance and found:
        text += f" — {origin.sentence(change, found, provenance.now, escape.text)}"
    sighting = seen.get(change.normalized) if seen else None
    if sighting is not None:
        text += f" [{origin.sighting(sighting)}]"
    return text


def format_plan(plan: Plan, *, provenance: Provenances | None = None) -> str:
    lines = [
        annotation("notice", _plan_message(plan, c, provenance), c.source, "inbound-sync plan")
        for c in plan.changes
    ]
    lines += [annotation("error", r, None, "inbound-sync: refused") for r in plan.refusals]
    lines += [annotation("warning", w, None, "inbound-sync") for w in plan.warnings]
    lines.append(words.summary_line(plan))
    return "\n".join(lines) + "\n"


def format_drift(
    plan: Plan,
    *,
    provenance: Provenances | None = None,
    seen: Mapping[str, Sighting] | None = None,
) -> str:
    lines = [
        annotation(
            "warning",
            f"{words.number(c, escape.text)}: {words.drift_reason(plan, c, escape.text)}"
            + _said(c, provenance, seen),
            c.source,
            "inbound-sync drift",
        )
        for c in plan.changes
    ]
    lines += [annotation("warning", w, None, "inbound-sync") for w in plan.warnings]
    lines.append(words.drift_line(plan, seen))
    return "\n".join(lines) + "\n"
