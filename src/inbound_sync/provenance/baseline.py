"""Drift already reported: a previous drift document, and which of today's drift it held.

A drift is the same drift while its number, action and both bindings are the same; it keeps
the time it was first seen. One that is not in the baseline is new, including one that went
away and came back: the baseline is only the previous report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal, NamedTuple

import pydantic

from inbound_sync.errors import UsageError
from inbound_sync.plan import Change, Plan
from inbound_sync.provenance.model import parse_time


class Sighting(NamedTuple):
    """Whether a drift is new since the baseline, and when it was first reported."""

    new: bool
    first_seen: datetime
    checked: datetime
    """The time of this check, from which the age of `first_seen` counts."""


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


class _Entry(_Model):
    normalized: str
    action: str
    before: dict[str, str | None] | None
    after: dict[str, str | None] | None
    first_seen: str | None = None


class _Document(_Model):
    format_version: Literal[1]
    checked_at: str | None = None
    drift: list[_Entry]


class Baseline(NamedTuple):
    """The drift of a previous report, by identity, with the time each was first seen."""

    seen: Mapping[str, datetime | None]


def identity(normalized: str, action: str, before: object, after: object) -> str:
    return json.dumps([normalized, action, before, after], sort_keys=True)


def change_identity(change: Change) -> str:
    return identity(
        change.normalized,
        change.action,
        change.before.to_json() if change.before else None,
        change.after.to_json() if change.after else None,
    )


def baseline_of(document: _Document) -> Baseline:
    checked = parse_time(document.checked_at)
    return Baseline(
        {
            identity(e.normalized, e.action, e.before, e.after): parse_time(e.first_seen) or checked
            for e in document.drift
        }
    )


def read_baseline(path: str) -> Baseline:
    """A drift report written by `drift --format json` (or `drift --out`); any defect is a
    UsageError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the baseline {path}: {reason}") from None
    try:
        return baseline_of(_Document.model_validate_json(text))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise UsageError(
            f"{path} is not a drift report written by `inbound-sync drift --format json` "
            f"({where}: {first['msg']})"
        ) from None


def sightings(plan: Plan, baseline: Baseline | None, now: datetime) -> dict[str, Sighting]:
    """New or already reported, for each drift of `plan`; without a baseline, all are new."""
    seen: Mapping[str, datetime | None] = baseline.seen if baseline else {}
    found = {}
    for change in plan.changes:
        key = change_identity(change)
        if key in seen:
            found[change.normalized] = Sighting(False, seen[key] or now, now)
        else:
            found[change.normalized] = Sighting(True, now, now)
    return found


def new_count(found: Mapping[str, Sighting]) -> int:
    return sum(1 for s in found.values() if s.new)
