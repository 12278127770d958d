"""The plan document: what `plan --format json` prints, `plan --out` saves and `apply --plan` reads.

It carries the resolved desired state and the options the plan was made with, so applying a saved
plan needs neither the config files nor any flag repeated. It never carries a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from inbound_sync.config import DesiredNumber, DesiredState, SafetyPolicy
from inbound_sync.errors import UsageError
from inbound_sync.jsontext import indented
from inbound_sync.phone import display
from inbound_sync.plan.model import Plan, Policy, change_data

if TYPE_CHECKING:
    from inbound_sync.plan.saved_format import _Body, _Desired

FORMAT_VERSION = 1
FLEET_FORMAT_VERSION = 2
"""A fleet plan (inbound_sync.fleet.saved) holds one plan body per target under `targets`."""


def plan_document(
    plan: Plan, desired: DesiredState, policy: Policy, api_url: str
) -> dict[str, Any]:
    """The stable JSON form of a plan; the same inputs give the same document."""
    return {
        "format_version": FORMAT_VERSION,
        "api_url": api_url,
        "changes": [change_data(c) for c in plan.changes],
        "summary": plan.summary.to_json(),
        "unmanaged": unmanaged_data(plan),
        "warnings": list(plan.warnings),
        "refusals": list(plan.refusals),
        "options": {"allow_destructive": policy.allow_destructive},
        "desired": desired_document(desired),
    }


def unmanaged_data(plan: Plan) -> list[dict[str, Any]]:
    """The undeclared numbers a plan leaves alone."""
    return [
        {
            "number": display(row.normalized),
            "normalized": row.normalized,
            "inbound_id": row.inbound_id,
            **row.binding.to_json(),
        }
        for row in plan.unmanaged
    ]


def dumps(document: dict[str, Any]) -> str:
    """Serialize deterministically: json.dumps(indent=2, sort_keys=True)'s text, written faster."""
    return indented(document) + "\n"


def desired_document(desired: DesiredState) -> dict[str, Any]:
    # "purpose" appears only in undo plans, and "max_rate" only when the config sets one, so
    # that every other plan document stays as it was.
    purpose = {"purpose": desired.purpose} if desired.purpose != "config" else {}
    rate = {"max_rate": desired.max_rate} if desired.max_rate is not None else {}
    return {
        **purpose,
        **rate,
        "region": desired.region,
        "service": desired.service,
        "unmanaged": desired.unmanaged,
        "safety": desired.safety._asdict(),
        "assistants": dict(desired.assistants),
        "strategies": dict(desired.strategies),
        "files": list(desired.files),
        "numbers": [n._asdict() for n in desired.numbers],
    }


# What a saved change carries for its reviewers only; a plan made again has none of it to compare.
_FOR_REVIEW = frozenset({"provenance"})


class SavedPlan:
    """A plan file read back: the desired state and policy to recompute it, and its changes."""

    def __init__(self, document: _Body) -> None:
        self.api_url = document.api_url
        self.changes = [
            {k: v for k, v in change.items() if k not in _FOR_REVIEW} for change in document.changes
        ]
        self.desired = _to_state(document.desired)
        self.policy = Policy(self.desired.safety, document.options.allow_destructive)


def _to_state(doc: _Desired) -> DesiredState:
    safety = SafetyPolicy(doc.safety.max_destructive, doc.safety.max_destructive_percent)
    return DesiredState(
        numbers=tuple(DesiredNumber(**n.model_dump()) for n in doc.numbers),
        unmanaged=doc.unmanaged,
        safety=safety,
        region=doc.region,
        service=doc.service,
        assistants=doc.assistants,
        strategies=doc.strategies,
        files=tuple(doc.files),
        purpose=doc.purpose,
        max_rate=doc.max_rate,
    )


def saved_body(data: Any) -> SavedPlan:
    """A plan body (a plan document less its format_version); raises pydantic.ValidationError."""
    from inbound_sync.plan.saved_format import _Body

    return SavedPlan(_Body.model_validate(data))


def read_saved(path: str) -> SavedPlan:
    """Read a plan file written by `plan --out`; any defect is a UsageError naming the file."""
    from inbound_sync.plan.saved_format import _Document

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read plan file {path}: {exc}") from None
    try:
        return SavedPlan(_Document.model_validate_json(text))
    except pydantic.ValidationError as exc:
        if _is_fleet_plan(text):
            raise UsageError(
                f"{path} is a fleet plan: apply it with "
                f"`inbound-sync apply --fleet FLEET_FILE --plan {path}`"
            ) from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise UsageError(
            f"{path} is not a plan file written by `inbound-sync plan --out` "
            f"({where}: {first['msg']})"
        ) from None


def _is_fleet_plan(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("format_version") == FLEET_FORMAT_VERSION


def stale_differences(
    saved: list[dict[str, Any]], now: list[dict[str, Any]], limit: int = 10
) -> list[str]:
    """The numbers whose planned change is no longer the saved one: saved, then now, each."""
    was = {c.get("normalized"): c for c in saved}
    is_ = {c.get("normalized"): c for c in now}
    differing = sorted(
        (n for n in was.keys() | is_.keys() if was.get(n) != is_.get(n)), key=lambda n: str(n)
    )
    lines = [
        f"{_number(n)}: saved {_describe(was.get(n))}; now {_describe(is_.get(n))}"
        for n in differing[:limit]
    ]
    if len(differing) > limit:
        lines.append(f"... and {len(differing) - limit} more")
    return lines


def _number(normalized: object) -> str:
    text = str(normalized)
    return display(text) if text.isdigit() else text


def _describe(change: dict[str, Any] | None) -> str:
    if change is None:
        return "no change"
    return (
        f"{change.get('action')} ({_binding(change.get('before'))} -> "
        f"{_binding(change.get('after'))})"
    )


def _binding(binding: object) -> str:
    if not isinstance(binding, dict):
        return "no mapping"
    assistant = binding.get("assistant_id") or "none"
    strategy = binding.get("inbound_context_strategy_id") or "none"
    return f"assistant {assistant}, strategy {strategy}"
