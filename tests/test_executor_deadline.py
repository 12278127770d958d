"""The run's deadline: once it passes no change starts, a write still waiting for its turn is
not sent, the changes in flight finish, and the report says what was not applied."""

from __future__ import annotations

import asyncio

from inbound_sync.apply import ApplyReport, Settings, apply_plan
from inbound_sync.errors import NotSent, RateLimited
from inbound_sync.plan import Change, Plan
from inbound_sync.render import report as render_report
from planning import A1, state, want
from test_executor_interrupts import Account, plan_for

NUMBERS = [f"9180443192{i:02d}" for i in range(40, 44)]
DESIRED = state(*(want(n, A1) for n in NUMBERS))


def run(account: Account, plan: Plan, expired: asyncio.Event) -> ApplyReport:
    async def scenario() -> ApplyReport:
        return await apply_plan(account, plan, DESIRED, Settings(concurrency=1), expired=expired)

    return asyncio.run(scenario())


def test_after_the_deadline_no_change_starts_and_the_report_says_so():
    account = Account()
    expired = asyncio.Event()
    original = account.write

    async def write(change: Change) -> None:
        await original(change)
        expired.set()  # the deadline passes while the first write is in flight

    account.write = write  # type: ignore[method-assign]
    report = run(account, plan_for(DESIRED), expired)

    assert [o.status for o in report.outcomes] == ["done", "skipped", "skipped", "skipped"]
    assert report.outcomes[1].message == "not started: the run's deadline passed"
    assert len(account.writes) == 1
    assert report.expired
    assert not report.interrupted
    assert not report.ok
    assert len(report.remaining.changes) == 3
    assert render_report.summary_line(report) == (
        "Stopped at the run's deadline: 1 done, 0 failed, 3 skipped (not applied)."
    )


def test_a_write_stopped_while_it_waited_its_turn_is_skipped_not_failed():
    account = Account()
    expired = asyncio.Event()

    async def write(change: Change) -> None:
        account.writes.append(change)
        expired.set()
        raise NotSent("the run stopped while it waited for its turn", operation="assign")

    account.write = write  # type: ignore[method-assign]
    report = run(account, plan_for(state(want(NUMBERS[0], A1))), expired)
    [outcome] = report.outcomes
    assert (outcome.status, outcome.message) == (
        "skipped",
        "not applied: the run's deadline passed while it waited its turn",
    )


def test_a_429_cut_short_by_the_deadline_is_skipped_too():
    account = Account()
    expired = asyncio.Event()

    async def write(change: Change) -> None:
        expired.set()
        raise RateLimited("rate limited; interrupted while waiting", operation="assign", status=429)

    account.write = write  # type: ignore[method-assign]
    report = run(account, plan_for(state(want(NUMBERS[0], A1))), expired)
    assert report.outcomes[0].status == "skipped"


def test_a_429_on_its_own_is_a_failure():
    account = Account()

    async def write(change: Change) -> None:
        raise RateLimited("rate limited", operation="assign", status=429)

    account.write = write  # type: ignore[method-assign]
    report = run(account, plan_for(state(want(NUMBERS[0], A1))), asyncio.Event())
    assert (report.outcomes[0].status, report.expired) == ("failed", False)


def test_a_deadline_after_the_last_change_changes_nothing():
    account = Account()
    expired = asyncio.Event()
    original = account.snapshot

    async def snapshot():  # the verification read: every change is done by then
        expired.set()
        return await original()

    account.snapshot = snapshot  # type: ignore[method-assign]
    report = run(account, plan_for(DESIRED), expired)
    assert report.ok
    assert not report.expired
