"""The audit logs `apply --log-file` writes (one JSON object per API call), read back for history.

Paths are files, or directories read recursively (names starting with "." skipped), as CI
artifacts unpack. A line that is not an audit entry is skipped and counted, never fatal: logs
get cut short when a run is cancelled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from inbound_sync.errors import UsageError
from inbound_sync.provenance.history import Event
from inbound_sync.provenance.model import parse_time

WRITES = frozenset({"assign", "update", "detach", "delete"})


class AuditLines(NamedTuple):
    """Each entry with where it came from ('audit.jsonl:3'), and what was skipped."""

    entries: tuple[tuple[str, dict[str, Any]], ...]
    notes: tuple[str, ...]


def log_files(paths: Sequence[str]) -> list[Path]:
    """Files as given, and every file under directories, sorted; a missing path is an error."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and _visible(p, path))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"cannot read the audit log {name}: no such file or directory")
    return list(dict.fromkeys(found))


def _visible(path: Path, top: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(top).parts)


def read_audit(paths: Sequence[str]) -> AuditLines:
    entries: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    for path in log_files(paths):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read the audit log {path}: {exc.strerror}") from None
        found, skipped = parse_lines(str(path), text.splitlines())
        entries += found
        if skipped:
            notes.append(
                f"{path}: {skipped} line{'s' if skipped != 1 else ''} skipped (not an audit entry)"
            )
    return AuditLines(tuple(entries), tuple(notes))


def parse_lines(name: str, lines: Iterable[str]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    found, skipped = [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(entry, dict) and isinstance(entry.get("time"), str) and "action" in entry:
            found.append((f"{name}:{number}", entry))
        else:
            skipped += 1
    return found, skipped


def apply_events(lines: AuditLines, normalized: str) -> list[Event]:
    """The logged writes to the number, oldest first (the order apply wrote them)."""
    mine = [
        (where, e)
        for where, e in lines.entries
        if e.get("number") == "+" + normalized and e.get("action") in WRITES
    ]
    return [_event(where, entry) for where, entry in mine]


def _event(where: str, entry: dict[str, Any]) -> Event:
    status = entry.get("status")
    answer = str(status) if status is not None else "no answer"
    summary = (
        f"apply {entry.get('action')}: {entry.get('method')} {entry.get('path')} → {answer}"
        f" ({entry.get('outcome')}, attempt {entry.get('attempt')})"
    )
    details = [f"logged at {where}"]
    if entry.get("error"):
        details.insert(0, f"error: {entry['error']}")
    keys = ("action", "method", "path", "status", "attempt", "outcome", "error", "inbound_id")
    data = {"log": where, **{k: entry.get(k) for k in keys}}
    return Event(parse_time(entry.get("time")), "apply", summary, tuple(details), data)
