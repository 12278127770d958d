"""Immutable records of planning: what the account has, what should change, and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from inbound_sync.config import SafetyPolicy
from inbound_sync.phone import display

Action = Literal["assign", "update", "detach", "delete"]
ACTIONS: tuple[Action, ...] = ("delete", "detach", "update", "assign")
DESTRUCTIVE: frozenset[Action] = frozenset({"delete", "detach"})


class Binding(NamedTuple):
    """Where a number routes: an assistant and, optionally, a caller-context strategy."""

    assistant_id: str | None
    strategy_id: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"assistant_id": self.assistant_id, "inbound_context_strategy_id": self.strategy_id}


UNROUTED = Binding(None, None)


class RemoteRow(NamedTuple):
    """One active mapping as the account lists it."""

    inbound_id: str
    normalized: str
    phone_number: str
    assistant_id: str | None = None
    strategy_id: str | None = None
    assistant_name: str | None = None
    strategy_name: str | None = None
    updated_at: str | None = None
    created_at: str | None = None

    @property
    def binding(self) -> Binding:
        return Binding(self.assistant_id, self.strategy_id)


class Snapshot(NamedTuple):
    """The account as one list call returned it."""

    rows: tuple[RemoteRow, ...]


class Change(NamedTuple):
    """One write the plan needs; `before`/`after` are None where the mapping does not exist."""

    action: Action
    normalized: str
    e164: str
    inbound_id: str | None
    before: Binding | None
    after: Binding | None
    source: str | None = None
    protect: bool = False

    @property
    def unroutes(self) -> bool:
        """True when the number routes calls now and would route none after the change."""
        had = self.before is not None and self.before.assistant_id is not None
        return had and (self.after is None or self.after.assistant_id is None)

    @property
    def destructive(self) -> bool:
        """Counted by the safety guards and refused under `protect`, whatever the action.

        A delete or detach always is; so is any other change after which a number that had an
        assistant has none, since its calls stop routing just as after a detach.
        """
        return self.action in DESTRUCTIVE or self.unroutes

    @property
    def sort_key(self) -> tuple[int, str]:
        return (ACTIONS.index(self.action), self.normalized)

    def patch_body(self) -> dict[str, str | None]:
        """The PATCH body of an update: only the fields that differ."""
        before, after = self.before or UNROUTED, self.after or UNROUTED
        body: dict[str, str | None] = {}
        if before.assistant_id != after.assistant_id:
            body["assistant_id"] = after.assistant_id
        if before.strategy_id != after.strategy_id:
            body["inbound_context_strategy_id"] = after.strategy_id
        return body


class Policy(NamedTuple):
    """The safety thresholds in force, and whether the user overrode them."""

    safety: SafetyPolicy = SafetyPolicy()
    allow_destructive: bool = False


class Summary(NamedTuple):
    assign: int
    update: int
    detach: int
    delete: int
    unchanged: int
    unmanaged: int

    def to_json(self) -> dict[str, int]:
        return dict(self._asdict())


class Plan(NamedTuple):
    """The result of planning: changes in apply order, plus what a reviewer needs to judge it."""

    changes: tuple[Change, ...]
    unchanged: int
    unmanaged: tuple[RemoteRow, ...]
    warnings: tuple[str, ...]
    refusals: tuple[str, ...]
    account_size: int
    labels: Mapping[str, str]
    undo: bool = False
    """True for an undo plan: its unmanaged rows are the numbers the undone apply left alone."""

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def summary(self) -> Summary:
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return Summary(
            assign=counts["assign"],
            update=counts["update"],
            detach=counts["detach"],
            delete=counts["delete"],
            unchanged=self.unchanged,
            unmanaged=len(self.unmanaged),
        )

    def label(self, ident: str | None) -> str:
        """An id as a reader knows it: alias, else remote name, else the id itself."""
        if ident is None:
            return "none"
        return self.labels.get(ident, ident)


def change_data(change: Change) -> dict[str, Any]:
    """The JSON form of a change (stable keys)."""
    return {
        "action": change.action,
        "number": display(change.normalized),
        "normalized": change.normalized,
        "inbound_id": change.inbound_id,
        "before": change.before.to_json() if change.before else None,
        "after": change.after.to_json() if change.after else None,
        "source": change.source,
        "protect": change.protect,
    }
