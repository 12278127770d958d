"""Run a plan's changes phase by phase, resolve unknown outcomes by re-reading, then verify.

An unknown outcome (timeout, dropped connection, 5xx after the request was sent) is never retried
blindly: the account is listed again and the change counts as done only when the list shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Literal, NamedTuple, Protocol, TypeVar

from inbound_sync.api import request_tag
from inbound_sync.config import DesiredState
from inbound_sync.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    NotSent,
    OutcomeUnknown,
    PlanError,
    RateLimited,
)
from inbound_sync.phone import display
from inbound_sync.plan import ACTIONS, Change, Plan, Policy, RemoteRow, Snapshot, make_plan

Status = Literal["done", "failed", "skipped"]
T = TypeVar("T")


class Outcome(NamedTuple):
    """What became of one change, and on what evidence."""

    change: Change
    status: Status
    message: str
    attempts: int = 1


class ApplyReport(NamedTuple):
    """Every outcome, and the verification plan made from a fresh list after the last phase.

    When that list or plan fails, `unverified` says why, `remaining` holds the changes not reported
    done, and `final` is None if the list failed: the outcomes are reported, never lost to the
    last read. `expired`: the run's deadline passed before every change was started or sent.
    `rate_limited` and `paused_s`: the 429s the API answered, and the seconds every request
    was paused for them (the caller fills them in from the host's pacer).
    """

    outcomes: tuple[Outcome, ...]
    remaining: Plan
    final: Snapshot | None
    interrupted: bool = False
    unverified: str | None = None
    expired: bool = False
    rate_limited: int = 0
    paused_s: float = 0.0

    @property
    def converged(self) -> bool:
        return self.unverified is None and not self.remaining.changes

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and not self.interrupted
            and all(o.status == "done" for o in self.outcomes)
        )


class Account(Protocol):
    """The two things the executor needs from the API: a full read and one write per change."""

    async def snapshot(self) -> Snapshot: ...

    async def write(self, change: Change) -> None: ...


class Settings(NamedTuple):
    concurrency: int = 8
    attempts: int = 5
    reread_window: float = 0.05


DEFAULT_SETTINGS = Settings()


class Rereader:
    """Coalesces re-reads: callers that arrive while a read is still gathering share it.

    A caller only joins a read that has not started yet, so the list it gets was always taken
    after that caller's own write had failed.
    """

    def __init__(self, account: Account, window: float) -> None:
        self._account = account
        self._window = window
        self._gathering: asyncio.Future[AccountView] | None = None

    async def read(self) -> AccountView:
        if self._gathering is not None:
            return await self._gathering
        future: asyncio.Future[AccountView] = asyncio.get_running_loop().create_future()
        self._gathering = future
        await asyncio.sleep(self._window)
        self._gathering = None
        try:
            future.set_result(AccountView.of(await self._account.snapshot()))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: each waiter re-raises it itself
        return await future


class AccountView(NamedTuple):
    """A re-read indexed once, so that judging each change is a lookup, not a scan of the list."""

    by_id: Mapping[str, RemoteRow]
    by_number: Mapping[str, RemoteRow]

    @classmethod
    def of(cls, snapshot: Snapshot) -> AccountView:
        by_id: dict[str, RemoteRow] = {}
        by_number: dict[str, RemoteRow] = {}
        for row in snapshot.rows:
            by_id.setdefault(row.inbound_id, row)
            by_number.setdefault(row.normalized, row)
        return cls(by_id, by_number)

    def shows(self, change: Change) -> bool:
        """True when the account already shows the change's result."""
        if change.action == "delete":
            return change.inbound_id not in self.by_id
        if change.inbound_id:
            row = self.by_id.get(change.inbound_id)
        else:
            row = self.by_number.get(change.normalized)
        return row is not None and row.binding == change.after

    def has_mapping(self, change: Change) -> bool:
        return change.inbound_id in self.by_id


def is_done(change: Change, snapshot: Snapshot) -> bool:
    """True when `snapshot` already shows the change's result."""
    return AccountView.of(snapshot).shows(change)


class Executor:
    """Applies one plan; `on_outcome` is called as each change finishes (for progress)."""

    def __init__(
        self,
        account: Account,
        settings: Settings = DEFAULT_SETTINGS,
        on_outcome: Callable[[Outcome], None] | None = None,
        stop: asyncio.Event | None = None,
        abandon: asyncio.Event | None = None,
        expired: asyncio.Event | None = None,
    ) -> None:
        self.account = account
        self.settings = settings
        self.on_outcome = on_outcome or (lambda _: None)
        self.stop = stop or asyncio.Event()
        self.abandon = abandon or asyncio.Event()
        # The run's deadline: like `stop`, no new change starts, but nothing was interrupted.
        self.expired = expired or asyncio.Event()
        self.rereader = Rereader(account, settings.reread_window)
        self._in_flight: set[asyncio.Task[object]] = set()
        self.labels: Mapping[str, str] = {}

    async def run(self, plan: Plan, desired: DesiredState) -> ApplyReport:
        async with self._watching():
            outcomes = await self._phases(plan, None)
            return await self._verify(plan, desired, outcomes)

    async def execute(
        self, plan: Plan, limit: asyncio.Semaphore | None = None
    ) -> tuple[Outcome, ...]:
        """Only the changes of `plan`, phase by phase, without verifying.

        `limit` bounds the changes in flight; several executors given one limit share it, so
        that a run over several accounts keeps its concurrency as a total (see fleet.execute).
        """
        async with self._watching():
            return await self._phases(plan, limit)

    async def verify(
        self, plan: Plan, desired: DesiredState, outcomes: tuple[Outcome, ...]
    ) -> ApplyReport:
        """The report of `outcomes`: list the account again and plan once more (see run)."""
        async with self._watching():
            return await self._verify(plan, desired, outcomes)

    @contextlib.asynccontextmanager
    async def _watching(self) -> AsyncIterator[None]:
        watcher = asyncio.ensure_future(self._cancel_when_abandoned())
        try:
            yield
        finally:
            watcher.cancel()

    async def _phases(self, plan: Plan, limit: asyncio.Semaphore | None) -> tuple[Outcome, ...]:
        self.labels = plan.labels
        outcomes: list[Outcome] = []
        limit = limit or asyncio.Semaphore(max(1, self.settings.concurrency))
        for action in ACTIONS:
            phase = [c for c in plan.changes if c.action == action]
            outcomes += await asyncio.gather(*(self._guarded(c, limit) for c in phase))
        return tuple(outcomes)

    async def _cancel_when_abandoned(self) -> None:
        """On `abandon`, cancel every write and read still in flight; their outcome is unknown."""
        await self.abandon.wait()
        for task in list(self._in_flight):
            task.cancel()

    async def _abandonable(self, work: Callable[[], Awaitable[T]]) -> T | None:
        """`work()` awaited in this task, or None if `abandon` came first or cancelled it."""
        task = asyncio.current_task()
        if task is None or self.abandon.is_set():
            return None
        self._in_flight.add(task)
        try:
            return await work()
        except asyncio.CancelledError:
            if not self.abandon.is_set():
                raise
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            return None
        finally:
            self._in_flight.discard(task)

    def _halted(self) -> str | None:
        """Why no new change may start: "interrupted", "the run's deadline passed", or None."""
        if self.stop.is_set():
            return "interrupted"
        return DEADLINE if self.expired.is_set() else None

    async def _verify(
        self, plan: Plan, desired: DesiredState, outcomes: tuple[Outcome, ...]
    ) -> ApplyReport:
        """List the account again and plan once more; a failure of either is reported."""
        interrupted = self.stop.is_set()
        expired = self.expired.is_set() and any(o.status == "skipped" for o in outcomes)
        pending = plan._replace(changes=tuple(o.change for o in outcomes if o.status != "done"))
        try:
            final = await self._abandonable(self.account.snapshot)
        except ApiError as exc:
            why = f"the account could not be read after the changes: {exc}"
            return ApplyReport(outcomes, pending, None, interrupted, why, expired)
        if final is None:
            why = "interrupted again: the account was not read after the changes"
            return ApplyReport(outcomes, pending, None, True, why, expired)
        outcomes = reconcile(outcomes, AccountView.of(final))
        try:
            remaining = make_plan(desired, final, Policy(desired.safety, allow_destructive=True))
        except PlanError as exc:
            why = f"the account after the changes cannot be planned: {exc}"
            return ApplyReport(outcomes, pending, final, interrupted, why, expired)
        return ApplyReport(outcomes, remaining, final, interrupted, expired=expired)

    async def _guarded(self, change: Change, limit: asyncio.Semaphore) -> Outcome:
        async with limit:
            halted = self._halted()
            if halted is not None:
                outcome = Outcome(change, "skipped", f"not started: {halted}", attempts=0)
            else:
                outcome = await self._abandonable(lambda: self._run(change)) or Outcome(
                    change, "failed", ABANDONED, attempts=1
                )
        self.on_outcome(outcome)
        return outcome

    async def _run(self, change: Change) -> Outcome:
        request_tag.set(
            {
                "action": change.action,
                "number": "+" + change.normalized,
                "inbound_id": change.inbound_id or "",
            }
        )
        for attempt in range(1, self.settings.attempts + 1):
            halted = self._halted()
            if attempt > 1 and halted is not None:
                # The account showed the last attempt did not land: nothing is half done.
                message = NOT_RESENT if self.stop.is_set() else f"not sent again: {halted}"
                return Outcome(change, "skipped", message, attempt - 1)
            try:
                await self.account.write(change)
                return Outcome(change, "done", "done", attempt)
            except OutcomeUnknown as exc:
                verdict = await self._after_unknown(change, exc)
            except ConflictError as exc:
                verdict = await self._after_conflict(change, exc)
            except NotFoundError as exc:
                verdict = await self._after_not_found(change, exc)
            except ApiError as exc:
                verdict = self._after_error(exc)
            if verdict is not None:
                return Outcome(change, verdict[0], verdict[1], attempt)
        message = (
            f"outcome still unknown after {self.settings.attempts} attempts; "
            "the account does not show the change"
        )
        return Outcome(change, "failed", message, self.settings.attempts)

    def _after_error(self, exc: ApiError) -> tuple[Status, str]:
        """A write certainly not applied; skipped when the run stopped it waiting for its turn."""
        halted = self._halted()
        if isinstance(exc, NotSent) or (isinstance(exc, RateLimited) and halted is not None):
            return (
                "skipped",
                f"not applied: {halted or 'the run stopped'} while it waited its turn",
            )
        return ("failed", exc.detail)

    async def _reread(self) -> AccountView | None:
        try:
            return await self.rereader.read()
        except ApiError:
            return None

    async def _after_unknown(
        self, change: Change, exc: OutcomeUnknown
    ) -> tuple[Status, str] | None:
        view = await self._reread()
        if view is None:
            return ("failed", f"{exc.detail}; the account could not be read to learn the outcome")
        if view.shows(change):
            return ("done", f"done (confirmed by re-reading the account after: {exc.detail})")
        return None  # certainly not applied: send it again

    async def _after_conflict(self, change: Change, exc: ConflictError) -> tuple[Status, str]:
        view = await self._reread()
        if view is not None and view.shows(change):
            return ("done", "done (the number was already assigned as planned)")
        return (
            "failed",
            f"conflict: {display(change.normalized)} is already assigned to an active mapping "
            f"outside this account or with other settings ({exc.detail})",
        )

    async def _after_not_found(self, change: Change, exc: NotFoundError) -> tuple[Status, str]:
        if change.action == "assign":
            # The assistant or strategy does not exist.
            return ("failed", missing_reference(change, exc.detail, self.labels))
        view = await self._reread()
        if view is not None and view.shows(change):
            return (
                "done",
                "done (the mapping was already gone)" if change.action == "delete" else "done",
            )
        if view is not None and not view.has_mapping(change):
            return ("failed", f"the mapping no longer exists ({exc.detail})")
        return ("failed", missing_reference(change, exc.detail, self.labels))


def missing_reference(change: Change, detail: str, labels: Mapping[str, str]) -> str:
    """The API's 404 message, with the alias, id and config line of what it did not find.

    The API names only the kind ("Assistant not found", "Inbound context strategy not found");
    the change says which id of that kind it sent.
    """
    after = change.after
    said = detail.lower()
    if after is None:
        return detail
    if "strategy" in said and after.strategy_id:
        kind, ident = "strategy", after.strategy_id
    elif "assistant" in said and after.assistant_id:
        kind, ident = "assistant", after.assistant_id
    else:
        return detail
    alias = labels.get(ident)
    named = f"{kind} {alias!r} ({ident})" if alias and alias != ident else f"{kind} {ident}"
    where = f", referenced at {change.source}" if change.source else ""
    return f"{detail}: {named}{where} no longer exists in the account, or never did"


ABANDONED = (
    "interrupted again while in flight: the outcome is unknown; "
    "run `inbound-sync plan` to see whether it was applied"
)
NOT_RESENT = "not sent again: interrupted, and the account does not show the last attempt"
DEADLINE = "the run's deadline passed"


def reconcile(outcomes: tuple[Outcome, ...], final: AccountView) -> tuple[Outcome, ...]:
    """Failed outcomes that the verification read shows as planned are reported done.

    A write can land while the read meant to confirm it fails; the report must not then say
    "failed" beside "Converged".
    """
    return tuple(
        o._replace(status="done", message=f"done (the verification read shows it; {o.message})")
        if o.status == "failed" and final.shows(o.change)
        else o
        for o in outcomes
    )


async def apply_plan(
    account: Account,
    plan: Plan,
    desired: DesiredState,
    settings: Settings = DEFAULT_SETTINGS,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: asyncio.Event | None = None,
    abandon: asyncio.Event | None = None,
    expired: asyncio.Event | None = None,
) -> ApplyReport:
    """Apply `plan` and verify; see Executor."""
    return await Executor(account, settings, on_outcome, stop, abandon, expired).run(plan, desired)
