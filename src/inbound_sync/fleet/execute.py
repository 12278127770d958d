"""Applying a fleet plan: every delete of a move before its assign, across targets.

Two stages over the targets' own executors (inbound_sync.apply), all under one limit so that
the run's concurrency is a total across the fleet, not one per target:

    1. the delete of every move, in every target at once;
    2. every other change, each target phase by phase (deletes, detaches, updates, assigns),
       except the assign of a move whose delete did not succeed: it is skipped, naming the
       delete, and nothing else is held back.

Then each target lists its account again and is verified as a single account is. The run's
deadline, like a signal, starts no new change in any target; what it skipped is reported as not
applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from inbound_sync.apply import Account, ApplyReport, Outcome, Settings
from inbound_sync.apply.executor import DEFAULT_SETTINGS, Executor
from inbound_sync.errors import ConflictError
from inbound_sync.fleet.moves import FleetPlan, Move, TargetPlan, moves_by_change
from inbound_sync.phone import display
from inbound_sync.plan import Change, Plan, Snapshot

OnOutcome = Callable[[str, Outcome], None]


class TargetReport(NamedTuple):
    target: TargetPlan
    report: ApplyReport

    @property
    def name(self) -> str:
        return self.target.name


class FleetReport(NamedTuple):
    """Each target's apply report, in name order, and the moves the plan held.

    `rate_limited` and `paused_s`: the 429s the API answered over the whole fleet, and the
    seconds every request was paused for them, added up over the API hosts (the caller fills
    them in from the hosts' pacers, as it fills in each target's own).
    """

    targets: tuple[TargetReport, ...]
    moves: tuple[Move, ...]
    rate_limited: int = 0
    paused_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.report.ok for t in self.targets)

    @property
    def converged(self) -> bool:
        return all(t.report.converged for t in self.targets)

    @property
    def interrupted(self) -> bool:
        return any(t.report.interrupted for t in self.targets)

    @property
    def expired(self) -> bool:
        """The run's deadline passed before some change of some target was started or sent."""
        return any(t.report.expired for t in self.targets)


class _Recording:
    """An account that remembers the 409s its assigns met, to say whose the number is."""

    def __init__(self, account: Account, conflicts: dict[str, str]) -> None:
        self._account = account
        self.conflicts = conflicts

    async def snapshot(self) -> Snapshot:
        return await self._account.snapshot()

    async def write(self, change: Change) -> None:
        try:
            await self._account.write(change)
        except ConflictError as exc:
            if change.action == "assign":
                self.conflicts[change.normalized] = exc.detail
            raise


async def apply_fleet(
    plan: FleetPlan,
    accounts: Mapping[str, Account],
    settings: Settings = DEFAULT_SETTINGS,
    on_outcome: OnOutcome | None = None,
    stop: asyncio.Event | None = None,
    abandon: asyncio.Event | None = None,
    left_out: Mapping[str, Sequence[str]] | None = None,
    expired: asyncio.Event | None = None,
) -> FleetReport:
    """Apply every target's plan, moves in order, then verify each target.

    `left_out` names, by system, the fleet's targets this run does not include: a number one
    of them holds is not known to be outside the fleet. `expired` is the run's deadline, as
    for a single account's executor.
    """
    run = FleetRun(plan, accounts, settings, on_outcome, stop, abandon, expired)
    return await run.run(left_out or {})


class FleetRun:
    """One target executor per target, and what the two stages tell each other."""

    def __init__(
        self,
        plan: FleetPlan,
        accounts: Mapping[str, Account],
        settings: Settings,
        on_outcome: OnOutcome | None,
        stop: asyncio.Event | None,
        abandon: asyncio.Event | None,
        expired: asyncio.Event | None = None,
    ) -> None:
        self.plan = plan
        self.report = on_outcome or (lambda _name, _outcome: None)
        self.limit = asyncio.Semaphore(max(1, settings.concurrency))
        self.links = moves_by_change(plan)
        self.conflicts: dict[str, dict[str, str]] = {t.name: {} for t in plan.targets}
        stop, abandon = stop or asyncio.Event(), abandon or asyncio.Event()
        self.executors = {
            t.name: Executor(
                _Recording(accounts[t.name], self.conflicts[t.name]),
                settings,
                _reporter(self.report, t.name),
                stop,
                abandon,
                expired,
            )
            for t in plan.targets
        }

    async def stage(self, changes: Mapping[str, Sequence[Change]]) -> list[tuple[Outcome, ...]]:
        """Each target's `changes`, all targets at once, under the shared limit."""
        return await asyncio.gather(
            *(
                self.executors[t.name].execute(_only(t, changes[t.name]), self.limit)
                for t in self.plan.targets
            )
        )

    async def run(self, left_out: Mapping[str, Sequence[str]]) -> FleetReport:
        targets = self.plan.targets
        first = {t.name: _move_deletes(t, self.links) for t in targets}
        done_first = await self.stage(first)
        deletes = {
            (o.change.normalized, t.name): o
            for t, run in zip(targets, done_first, strict=True)
            for o in run
        }
        held: dict[str, list[Outcome]] = {}
        rest: dict[str, list[Change]] = {}
        for target in targets:
            held[target.name], rest[target.name] = _hold_back(
                target, first[target.name], self.links, deletes
            )
            for outcome in held[target.name]:
                self.report(target.name, outcome)
        done_rest = await self.stage(rest)
        outcomes = {
            t.name: _conflicts_named(
                tuple(sorted((*a, *held[t.name], *b), key=lambda o: o.change.sort_key)),
                self.conflicts[t.name],
                left_out.get(t.target.system, ()),
            )
            for t, a, b in zip(targets, done_first, done_rest, strict=True)
        }
        reports = await asyncio.gather(
            *(self.executors[t.name].verify(t.plan, t.desired, outcomes[t.name]) for t in targets)
        )
        result = tuple(TargetReport(t, r) for t, r in zip(targets, reports, strict=True))
        return FleetReport(
            _freed_noted(result, self.links, deletes, self.conflicts), self.plan.moves
        )


def _reporter(report: OnOutcome, name: str) -> Callable[[Outcome], None]:
    return lambda outcome: report(name, outcome)


def _move_deletes(target: TargetPlan, links: Mapping[tuple[str, str, str], Move]) -> list[Change]:
    return [
        c
        for c in target.plan.changes
        if c.action == "delete" and (target.name, "delete", c.normalized) in links
    ]


def _only(target: TargetPlan, changes: Sequence[Change]) -> Plan:
    """The target's plan cut down to `changes` (its labels kept, for the messages)."""
    return target.plan._replace(changes=tuple(changes))


def _hold_back(
    target: TargetPlan,
    first: Sequence[Change],
    links: Mapping[tuple[str, str, str], Move],
    deletes: Mapping[tuple[str, str], Outcome],
) -> tuple[list[Outcome], list[Change]]:
    """The assigns skipped because their move's delete did not succeed, and what runs."""
    held: list[Outcome] = []
    runs: list[Change] = []
    ran = set(first)
    for change in target.plan.changes:
        if change in ran:
            continue
        move = links.get((target.name, change.action, change.normalized))
        delete = deletes.get((change.normalized, move.source)) if move else None
        if move is not None and (delete is None or delete.status != "done"):
            why = delete.message if delete is not None else "it was not run"
            held.append(
                Outcome(
                    change,
                    "skipped",
                    f"not sent: the delete of {display(change.normalized)} in {move.source}, "
                    f"which must free it first, did not succeed ({why})",
                    attempts=0,
                )
            )
        else:
            runs.append(change)
    return held, runs


def _conflicts_named(
    outcomes: tuple[Outcome, ...], conflicts: Mapping[str, str], left_out: Sequence[str]
) -> tuple[Outcome, ...]:
    """A 409 on an assign: no target of the fleet in this run holds the number, so say whose."""
    if left_out:
        whose = (
            "an account outside this run: outside this fleet, or in "
            f"{', '.join(left_out)}, which --target leaves out"
        )
    else:
        whose = "an account outside this fleet"
    return tuple(
        o._replace(
            message=f"conflict: {display(o.change.normalized)} is held by {whose} "
            f"({conflicts[o.change.normalized]})"
        )
        if o.status == "failed" and o.change.action == "assign" and o.change.normalized in conflicts
        else o
        for o in outcomes
    )


def _freed_noted(
    reports: tuple[TargetReport, ...],
    links: Mapping[tuple[str, str, str], Move],
    deletes: Mapping[tuple[str, str], Outcome],
    conflicts: Mapping[str, Mapping[str, str]],
) -> tuple[TargetReport, ...]:
    """A move whose delete succeeded and whose assign did not: the number is now free."""
    noted = []
    for item in reports:
        outcomes = []
        for o in item.report.outcomes:
            move = links.get((item.name, o.change.action, o.change.normalized))
            delete = deletes.get((o.change.normalized, move.source)) if move else None
            free = o.change.normalized not in conflicts[item.name]
            if move and delete and delete.status == "done" and o.status != "done" and free:
                o = o._replace(message=f"{o.message}; {_freed(move)}")
            outcomes.append(o)
        noted.append(item._replace(report=item.report._replace(outcomes=tuple(outcomes))))
    return tuple(noted)


def _freed(move: Move) -> str:
    return (
        f"{display(move.normalized)} was released from {move.source} and is now free: apply "
        f"again to assign it, or apply the undo plan to put it back in {move.source}"
    )
