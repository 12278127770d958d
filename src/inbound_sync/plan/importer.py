"""`import`: a version-1 config that reproduces an account, so adopting it plans to zero changes."""

from __future__ import annotations

import re
from collections.abc import Iterable

import yaml

from inbound_sync.phone import DEFAULT_REGION, PhoneError, display, normalize
from inbound_sync.plan.model import RemoteRow, Snapshot
from inbound_sync.plan.planner import index_rows

HEADER = (
    "# Written by `inbound-sync import`: the account as it was when read.\n"
    "# Review it, rename aliases if you like, check it with `inbound-sync validate`, and commit.\n"
)
SCHEMA_FILE = "inbound-sync.schema.json"
"""Where `inbound-sync schema --out` writes by default, and import's comment points."""


class _Quoted(str):
    """A string YAML writes in double quotes: numbers, which unquoted could read as integers."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


def slug(name: str) -> str:
    """'Support Assistant' -> 'support-assistant'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def make_aliases(pairs: Iterable[tuple[str, str | None]], kind: str) -> dict[str, str]:
    """Unique alias -> id, from names where known, else from the id."""
    by_id: dict[str, str | None] = {}
    for ident, name in sorted(pairs):
        by_id.setdefault(ident, name)
    aliases: dict[str, str] = {}
    for ident, name in by_id.items():
        base = slug(name or "") or f"{kind}-{ident[:8]}"
        alias, n = base, 2
        while alias in aliases:
            alias, n = f"{base}-{n}", n + 1
        aliases[alias] = ident
    return aliases


def import_config(
    snapshot: Snapshot, region: str = DEFAULT_REGION, schema: str | None = None
) -> tuple[str, list[str]]:
    """YAML text reproducing the account, and warnings for rows that cannot be expressed.

    `schema` is the URL or path (relative to the file) of the JSON Schema that editors should
    validate it with; None writes no such comment.
    """
    index, warnings = index_rows(snapshot, region)
    rows = [index[key] for key in sorted(index)]
    assistants = make_aliases(
        ((r.assistant_id, r.assistant_name) for r in rows if r.assistant_id), "assistant"
    )
    strategies = make_aliases(
        ((r.strategy_id, r.strategy_name) for r in rows if r.strategy_id), "strategy"
    )
    alias_of = {ident: alias for alias, ident in (*assistants.items(), *strategies.items())}
    numbers = []
    for row in rows:
        entry = _entry(row, region, alias_of)
        if entry is None:
            warnings.append(
                f"mapping {row.inbound_id}: {row.phone_number!r} does not parse; left out"
            )
        else:
            numbers.append(entry)
    document = {
        "version": 1,
        "defaults": {"region": region, "service": "exotel"},
        "assistants": assistants,
        "strategies": strategies,
        "unmanaged": "ignore",
        "numbers": numbers,
    }
    body = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    comment = f"# yaml-language-server: $schema={schema}\n" if schema else ""
    return comment + HEADER + body, warnings


def _entry(row: RemoteRow, region: str, alias_of: dict[str, str]) -> dict[str, object] | None:
    text = "+" + row.normalized
    entry: dict[str, object] = {"number": _Quoted(display(row.normalized))}
    try:
        normalize(text, region)
    except PhoneError:
        try:
            normalize(text, region, allow_unverified=True)
        except PhoneError:
            return None
        entry["allow_unverified"] = True
    entry["assistant"] = alias_of[row.assistant_id] if row.assistant_id else None
    if row.strategy_id:
        entry["strategy"] = alias_of[row.strategy_id]
    return entry
