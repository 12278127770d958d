"""JSON documents other than the plan itself: the drift report."""

from __future__ import annotations

from typing import Any

from inbound_sync.plan import Plan
from inbound_sync.plan.model import change_data
from inbound_sync.plan.saved import unmanaged_data
from inbound_sync.render import escape, words


def drift_document(plan: Plan) -> dict[str, Any]:
    """{"in_sync", "drift": [change + reason], "summary", "unmanaged", "warnings"}."""
    return {
        "format_version": 1,
        "in_sync": not plan.changes,
        "drift": [
            {**change_data(c), "reason": words.drift_reason(plan, c, escape.json)}
            for c in plan.changes
        ],
        "summary": plan.summary.to_json(),
        "unmanaged": unmanaged_data(plan),
        "warnings": list(plan.warnings),
    }
