"""`list` and `import`: look at the account before changing it, or adopt it into git."""

from __future__ import annotations

import json
from pathlib import Path

from inbound_sync.cli.common import Connection
from inbound_sync.cli.plan import read_snapshot
from inbound_sync.errors import UsageError
from inbound_sync.output import write
from inbound_sync.phone import display
from inbound_sync.plan import RemoteRow, Snapshot
from inbound_sync.plan.importer import import_config
from inbound_sync.render import escape

HEADINGS = ("NUMBER", "ASSISTANT", "STRATEGY", "UPDATED")


def _cells(row: RemoteRow) -> tuple[str, str, str, str]:
    """Every cell is the account's data, escaped before the columns are measured."""
    assistant = row.assistant_name or row.assistant_id or "(detached)"
    strategy = row.strategy_name or row.strategy_id or "-"
    number, updated = display(row.normalized), row.updated_at or "-"
    return (
        escape.text(number),
        escape.text(assistant),
        escape.text(strategy),
        escape.text(updated),
    )


def format_table(snapshot: Snapshot) -> str:
    """Aligned columns, one mapping a line, sorted by number."""
    rows = [HEADINGS, *(_cells(r) for r in sorted(snapshot.rows, key=lambda r: r.normalized))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADINGS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    count = len(snapshot.rows)
    return "\n".join([*lines, f"{count} mapping{'s' if count != 1 else ''}"]) + "\n"


def format_json(snapshot: Snapshot) -> str:
    items = [
        {
            "number": display(r.normalized),
            "normalized": r.normalized,
            "inbound_id": r.inbound_id,
            "assistant_id": r.assistant_id,
            "assistant_name": r.assistant_name,
            "inbound_context_strategy_id": r.strategy_id,
            "inbound_context_strategy_name": r.strategy_name,
            "updated_at": r.updated_at,
        }
        for r in sorted(snapshot.rows, key=lambda r: r.normalized)
    ]
    return json.dumps(items, indent=2, sort_keys=True) + "\n"


def run_list(conn: Connection, *, fmt: str) -> int:
    snapshot, _ = read_snapshot(conn)
    write(format_json(snapshot) if fmt == "json" else format_table(snapshot), nl=False)
    return 0


def run_import(conn: Connection, *, out: str | None, region: str) -> int:
    if out and Path(out).exists():
        raise UsageError(f"{out} already exists; import never overwrites a file")
    snapshot, _ = read_snapshot(conn)
    text, warnings = import_config(snapshot, region)
    for warning in warnings:
        write(f"Warning: {escape.text(warning)}", err=True)
    if out is None:
        write(text, nl=False)
        return 0
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from None
    write(
        f"Wrote {len(snapshot.rows)} mappings to {out}; check it with: inbound-sync plan {out}",
        err=True,
    )
    return 0
