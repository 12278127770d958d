"""`history`: a number's story as text (escaped with escape.text) or as a JSON document."""

from __future__ import annotations

from typing import Any

from inbound_sync.phone import display
from inbound_sync.provenance.history import Event, History
from inbound_sync.render import escape

SOURCE_WIDTH = 8


def _when(event: Event) -> str:
    return f"{event.time:%Y-%m-%d %H:%M} UTC" if event.time else f"{'now':<20}"


def format_text(history: History) -> str:
    number = escape.text(display(history.normalized))
    lines = [f"History of {number}, newest first:", ""]
    indent = " " * (2 + 20 + 2 + SOURCE_WIDTH + 1)
    for event in history.events:
        head = f"  {_when(event)}  {event.source:<{SOURCE_WIDTH}}"
        lines.append(f"{head} {escape.text(event.summary)}")
        lines += [f"{indent}{escape.text(d)}" for d in event.details]
    if not history.events:
        lines.append("  (nothing recorded)")
    lines += ["", "Now:"]
    lines.append(f"  git      {escape.text(history.declared or 'not declared')}")
    lines.append(f"  account  {escape.text(history.account or 'not in the account')}")
    if history.notes:
        lines += ["", "Notes:", *[f"  - {escape.text(n)}" for n in history.notes]]
    return "\n".join(lines) + "\n"


def document(history: History) -> dict[str, Any]:
    row = history.row
    return {
        "format_version": 1,
        "number": display(history.normalized),
        "normalized": history.normalized,
        "declared": history.declared,
        "account": None
        if row is None
        else {
            "inbound_id": row.inbound_id,
            "assistant_id": row.assistant_id,
            "assistant_name": row.assistant_name,
            "inbound_context_strategy_id": row.strategy_id,
            "inbound_context_strategy_name": row.strategy_name,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        },
        "events": [e.to_json() for e in history.events],
        "notes": list(history.notes),
    }
