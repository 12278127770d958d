"""Planning, a pure function: (DesiredState, Snapshot, Policy) -> Plan."""

from __future__ import annotations

from inbound_sync.config import DesiredNumber, DesiredState
from inbound_sync.errors import PlanError
from inbound_sync.phone import PhoneError, display, normalize
from inbound_sync.plan.model import (
    DESTRUCTIVE,
    UNROUTED,
    Action,
    Binding,
    Change,
    Plan,
    Policy,
    RemoteRow,
    Snapshot,
)


def make_plan(desired: DesiredState, snapshot: Snapshot, policy: Policy) -> Plan:
    """Every change that makes the account match `desired`, in apply order, with guard verdicts."""
    remote, warnings = index_rows(snapshot, desired.region)
    declared = desired.by_number()
    changes: list[Change] = []
    problems: list[str] = []
    unchanged = 0
    for number in desired.numbers:
        try:
            change = _declared_change(number, remote.get(number.normalized))
        except PlanError as exc:
            problems.append(str(exc))
            continue
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    if problems:
        raise PlanError("\n".join(problems))
    unmanaged: list[RemoteRow] = []
    for key in sorted(remote.keys() - declared.keys()):
        change = _unmanaged_change(remote[key], desired.unmanaged)
        if change is None:
            unmanaged.append(remote[key])
        else:
            changes.append(change)
    changes.sort(key=lambda c: c.sort_key)
    warnings += unresolved_assistants(snapshot)
    return Plan(
        changes=tuple(changes),
        unchanged=unchanged,
        unmanaged=tuple(unmanaged),
        warnings=tuple(warnings),
        refusals=tuple(refusals(changes, len(snapshot.rows), policy)),
        account_size=len(snapshot.rows),
        labels=_labels(desired, snapshot),
        undo=desired.purpose == "undo",
    )


def index_rows(snapshot: Snapshot, region: str) -> tuple[dict[str, RemoteRow], list[str]]:
    """Remote rows keyed by normalized number, re-deriving keys the API sent malformed."""
    index: dict[str, RemoteRow] = {}
    warnings: list[str] = []
    for row in snapshot.rows:
        key = _remote_key(row, region, warnings)
        if key in index:
            warnings.append(
                f"mappings {index[key].inbound_id} and {row.inbound_id} share the number "
                f"{display(key)}; only the first is managed"
            )
            continue
        index[key] = row if key == row.normalized else row._replace(normalized=key)
    return index, warnings


def unresolved_assistants(snapshot: Snapshot) -> list[str]:
    """Assistants the account lists by id but no longer names, while it names the others.

    The contract's assistant_name is "resolved for the current user": when it resolves for
    some assistants but not for one, that one was most likely deleted in the console, and calls
    to its numbers do not route although git and the account agree.
    """
    if not any(row.assistant_name for row in snapshot.rows):
        return []
    unnamed: dict[str, list[str]] = {}
    for row in snapshot.rows:
        if row.assistant_id and not row.assistant_name:
            unnamed.setdefault(row.assistant_id, []).append(row.normalized)
    return [
        f"assistant {ident} has no name in the account, unlike the others: it may have been "
        f"deleted, and calls to {_numbers(keys)} may not route"
        for ident, keys in sorted(unnamed.items())
    ]


def _numbers(keys: list[str], shown: int = 3) -> str:
    named = ", ".join(display(k) for k in sorted(keys)[:shown])
    return named + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def _remote_key(row: RemoteRow, region: str, warnings: list[str]) -> str:
    if row.normalized.isdigit():
        try:
            return normalize("+" + row.normalized, region, allow_unverified=True).normalized
        except PhoneError:
            pass
    try:
        key = normalize(row.phone_number, region, allow_unverified=True).normalized
    except PhoneError:
        warnings.append(
            f"mapping {row.inbound_id}: neither phone_number_normalized {row.normalized!r} nor "
            f"phone_number {row.phone_number!r} parses; it is matched by its raw value"
        )
        return row.normalized
    warnings.append(
        f"mapping {row.inbound_id}: phone_number_normalized {row.normalized!r} does not parse; "
        f"matched by phone_number {row.phone_number!r} as {display(key)}"
    )
    return key


def _declared_change(number: DesiredNumber, row: RemoteRow | None) -> Change | None:
    if number.ensure == "absent":
        return None if row is None else _change("delete", number, row, None)
    if row is None:
        if number.assistant_id is None:
            raise PlanError(
                f"{number.source}: {display(number.normalized)} does not exist in the account and "
                "cannot be created without an assistant (assign requires one)"
            )
        return _change("assign", number, None, Binding(number.assistant_id, number.strategy_id))
    # Plain pairs: most numbers of a large config match already, and need no Binding built.
    if (number.assistant_id, number.strategy_id) == (row.assistant_id, row.strategy_id):
        return None
    want = Binding(number.assistant_id, number.strategy_id)
    return _change("detach" if want == UNROUTED else "update", number, row, want)


def _change(
    action: Action, number: DesiredNumber, row: RemoteRow | None, after: Binding | None
) -> Change:
    return Change(
        action=action,
        normalized=number.normalized,
        e164=number.e164,
        inbound_id=row.inbound_id if row else None,
        before=row.binding if row else None,
        after=after,
        source=number.source,
        protect=number.protect,
    )


def _unmanaged_change(row: RemoteRow, unmanaged: str) -> Change | None:
    if unmanaged == "delete":
        after = None
    elif unmanaged == "detach" and row.binding != UNROUTED:
        after = UNROUTED
    else:
        return None
    return Change(
        action="delete" if after is None else "detach",
        normalized=row.normalized,
        e164="+" + row.normalized,
        inbound_id=row.inbound_id,
        before=row.binding,
        after=after,
    )


def refusals(changes: list[Change], account_size: int, policy: Policy) -> list[str]:
    """Why the safety guards refuse these changes; empty when they may be applied."""
    reasons = [
        f"{display(c.normalized)} is protected ({c.source}) and the plan would {_harm(c)}"
        for c in changes
        if c.protect and c.destructive
    ]
    if policy.allow_destructive:
        return reasons
    destructive = sum(1 for c in changes if c.destructive)
    limit = policy.safety.max_destructive
    if destructive > limit:
        reasons.append(
            f"{destructive} destructive changes (deletes, detaches and unroutings) exceed "
            f"safety.max_destructive = {limit}"
        )
    share = 100.0 * destructive / account_size if account_size else 0.0
    percent = policy.safety.max_destructive_percent
    if account_size >= 10 and share > percent:
        reasons.append(
            f"{destructive} destructive changes are {share:.0f}% of the account's "
            f"{account_size} mappings, above safety.max_destructive_percent = {percent:g}"
        )
    return reasons


def _harm(change: Change) -> str:
    """What a destructive change does, in words: its action, or the unrouting an update hides."""
    if change.action in DESTRUCTIVE:
        return f"{change.action} it"
    return f"{change.action} it to no assistant, so that its calls stop routing"


def _labels(desired: DesiredState, snapshot: Snapshot) -> dict[str, str]:
    """Id -> alias from git, else the name the account resolves."""
    labels: dict[str, str] = {}
    for row in snapshot.rows:
        if row.assistant_id and row.assistant_name:
            labels[row.assistant_id] = row.assistant_name
        if row.strategy_id and row.strategy_name:
            labels[row.strategy_id] = row.strategy_name
    for table in (desired.assistants, desired.strategies):
        labels.update({ident: alias for alias, ident in table.items()})
    return dict(sorted(labels.items()))
