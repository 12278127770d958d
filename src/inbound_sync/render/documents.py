"""JSON documents other than the plan itself: the drift report, and provenance added to a plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from inbound_sync.plan import Change, Plan
from inbound_sync.plan.model import change_data
from inbound_sync.plan.saved import unmanaged_data
from inbound_sync.provenance import Provenances
from inbound_sync.provenance.model import iso
from inbound_sync.render import escape, words

if TYPE_CHECKING:
    from inbound_sync.provenance.baseline import Sighting


def drift_document(
    plan: Plan,
    *,
    provenance: Provenances | None = None,
    seen: Mapping[str, Sighting] | None = None,
) -> dict[str, Any]:
    """{"in_sync", "drift": [change + reason], "summary", "unmanaged", "warnings"}.

    With provenance, each drift entry has its `provenance` and the document its `checked_at`;
    with sightings, each entry says whether it is `new` and when it was `first_seen`, so that
    the document can be the next check's baseline.
    """
    document: dict[str, Any] = {
        "format_version": 1,
        "in_sync": not plan.changes,
        "drift": [_entry(plan, c, provenance, seen) for c in plan.changes],
        "summary": plan.summary.to_json(),
        "unmanaged": unmanaged_data(plan),
        "warnings": list(plan.warnings),
    }
    if provenance is not None:
        document["checked_at"] = iso(provenance.now)
    return document


def _entry(
    plan: Plan,
    change: Change,
    provenance: Provenances | None,
    seen: Mapping[str, Sighting] | None,
) -> dict[str, Any]:
    entry = {**change_data(change), "reason": words.drift_reason(plan, change, escape.json)}
    found = provenance.get(change.normalized) if provenance else None
    if found is not None:
        entry["provenance"] = found.to_json()
    sighting = seen.get(change.normalized) if seen else None
    if sighting is not None:
        entry["new"] = sighting.new
        entry["first_seen"] = iso(sighting.first_seen)
    return entry


def with_provenance(document: dict[str, Any], provenance: Provenances) -> dict[str, Any]:
    """A plan document whose changes carry their `provenance` (apply --plan does not read it)."""
    changes = []
    for change in document["changes"]:
        found = provenance.get(change["normalized"])
        changes.append({**change, "provenance": found.to_json()} if found else change)
    return {**document, "changes": changes}
