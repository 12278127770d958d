"""`list` and `import`: look at the account before changing it, or adopt it into git."""

from __future__ import annotations

import os
from pathlib import Path

from inbound_sync.cli.common import STDOUT, Connection, write_out
from inbound_sync.cli.plan import read_snapshot
from inbound_sync.errors import UsageError
from inbound_sync.jsontext import indented
from inbound_sync.output import write
from inbound_sync.phone import display
from inbound_sync.plan import RemoteRow, Snapshot
from inbound_sync.plan.importer import SCHEMA_FILE, import_config
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
    return indented(items, ensure_ascii=True) + "\n"


def run_list(conn: Connection, *, fmt: str) -> int:
    snapshot, _ = read_snapshot(conn)
    write(format_json(snapshot) if fmt == "json" else format_table(snapshot), nl=False)
    return 0


def run_import(conn: Connection, *, out: str | None, region: str, schema: str | None = None) -> int:
    out = out or STDOUT
    if out != STDOUT and (Path(out).exists() or Path(out).is_symlink()):
        raise UsageError(f"{out} already exists; import never overwrites a file")
    reference = schema_reference(out) if schema is None else schema
    snapshot, _ = read_snapshot(conn)
    text, warnings = import_config(snapshot, region, schema=reference or None)
    for warning in warnings:
        write(f"Warning: {escape.text(warning)}", err=True)
    write_out(out, text)
    if out != STDOUT:
        write(
            f"Wrote {len(snapshot.rows)} mappings to {out}; check it with: inbound-sync plan {out}",
            err=True,
        )
    if schema is None and not Path(SCHEMA_FILE).exists():
        write(
            f"Editors validate it with {SCHEMA_FILE}; write that file with: "
            f"inbound-sync schema --out {SCHEMA_FILE}",
            err=True,
        )
    return 0


def schema_reference(out: str) -> str:
    """The path from the written file to SCHEMA_FILE in the working directory, as the YAML
    language server resolves it: relative to the file."""
    folder = Path.cwd() if out == STDOUT else Path(out).parent.resolve()
    return Path(os.path.relpath(Path.cwd() / SCHEMA_FILE, folder)).as_posix()
