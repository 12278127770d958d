"""The executor when interrupted, and a report that agrees with itself.

- After a stop, a change whose last attempt did not land is not sent again.
- After `abandon`, writes and the verification read still in flight are cancelled and reported
  as unknown; nothing waits for them.
- A write that landed while the read meant to confirm it failed is reported done once the
  verification read shows it, so "failed" never stands beside "Converged".
"""

from __future__ import annotations

import asyncio

from inbound_sync.apply import ApplyReport, apply_plan
from inbound_sync.apply.executor import ABANDONED, NOT_RESENT
from inbound_sync.errors import NotSent, OutcomeUnknown, RateLimited, ServerError
from inbound_sync.plan import Change, Plan, Policy, RemoteRow, Snapshot, make_plan
from inbound_sync.render import report as render_report
from planning import A1, row, state, want

N1, N2 = "918044319240", "918044319241"
DESIRED = state(want(N1, A1))


class Account:
    """An in-memory account whose writes and reads a test scripts."""

    def __init__(self) -> None:
        self.rows: dict[str, RemoteRow] = {}
        self.writes: list[Change] = []
        self.failing_reads = 0
        self.reads = 0
        self.on_write: list[object] = []  # per write: "land", "lost", "unknown-landed", Event

    async def snapshot(self) -> Snapshot:
        self.reads += 1
        if self.failing_reads:
            self.failing_reads -= 1
            raise ServerError("busy", operation="list the account", status=503)
        return Snapshot(rows=tuple(self.rows.values()))

    async def write(self, change: Change) -> None:
        self.writes.append(change)
        step = self.on_write.pop(0) if self.on_write else "land"
        if isinstance(step, asyncio.Event):
            await step.wait()
            step = "land"
        if step in ("land", "unknown-landed"):
            after = change.after
            assert after is not None
            self.rows[change.normalized] = row(change.normalized, after.assistant_id)
        if step != "land":
            raise OutcomeUnknown("timed out", operation=f"{change.action} +{change.normalized}")


def plan_for(desired=DESIRED) -> Plan:
    return make_plan(desired, Snapshot(rows=()), Policy(desired.safety))


def run(account: Account, plan: Plan, *, stop=None, abandon=None, during=None) -> ApplyReport:
    async def scenario() -> ApplyReport:
        task = asyncio.ensure_future(apply_plan(account, plan, DESIRED, stop=stop, abandon=abandon))
        if during is not None:
            await during()
        return await task

    return asyncio.run(scenario())


def test_a_change_is_not_resent_after_a_stop():
    account = Account()
    stop = asyncio.Event()

    def lost_and_stopped() -> None:
        stop.set()  # the signal arrives while the first attempt is in flight

    account.on_write = ["lost"]
    original = account.write

    async def write(change: Change) -> None:
        lost_and_stopped()
        await original(change)

    account.write = write  # type: ignore[method-assign]
    report = run(account, plan_for(), stop=stop)

    [outcome] = report.outcomes
    assert (outcome.status, outcome.message, outcome.attempts) == ("skipped", NOT_RESENT, 1)
    assert len(account.writes) == 1
    assert report.interrupted
    assert account.rows == {}


def test_without_a_stop_a_lost_write_is_sent_again():
    account = Account()
    account.on_write = ["lost"]
    report = run(account, plan_for())
    [outcome] = report.outcomes
    assert (outcome.status, outcome.attempts) == ("done", 2)
    assert len(account.writes) == 2


def test_abandon_cancels_writes_in_flight_and_skips_the_verification_read():
    account = Account()
    never = asyncio.Event()
    account.on_write = [never, never]
    stop, abandon = asyncio.Event(), asyncio.Event()
    desired = state(want(N1, A1), want(N2, A1))

    async def signals() -> None:
        while len(account.writes) < 2:
            await asyncio.sleep(0)
        stop.set()
        abandon.set()

    report = run(account, plan_for(desired), stop=stop, abandon=abandon, during=signals)

    assert [(o.status, o.message) for o in report.outcomes] == [("failed", ABANDONED)] * 2
    assert report.interrupted
    assert report.final is None
    assert report.unverified == "interrupted again: the account was not read after the changes"
    assert account.reads == 0
    assert [c.normalized for c in report.remaining.changes] == [N1, N2]


def test_a_landed_write_whose_confirmation_read_failed_is_reported_done():
    account = Account()
    account.on_write = ["unknown-landed"]
    account.failing_reads = 1  # the re-read after the write fails; the verification read works
    report = run(account, plan_for())

    [outcome] = report.outcomes
    assert outcome.status == "done"
    assert outcome.message.startswith("done (the verification read shows it; ")
    assert "could not be read to learn the outcome" in outcome.message
    assert report.converged
    assert report.ok
    text = render_report.format_text(report)
    assert "Apply finished: 1 done, 0 failed, 0 skipped." in text
    assert "Converged: the account matches the desired state." in text


def test_a_failed_write_the_final_read_does_not_show_stays_failed():
    account = Account()
    account.on_write = ["lost", "lost", "lost", "lost", "lost"]
    report = run(account, plan_for())
    [outcome] = report.outcomes
    assert outcome.status == "failed"
    assert not report.converged
    assert "Apply finished: 0 done, 1 failed, 0 skipped." in render_report.format_text(report)


# -- the run's deadline, and requests the run stopped before they were sent -----------------------


class Refusing(Account):
    """Every write raises `error`; `during` runs first (to set an event as the write waits)."""

    def __init__(self, error: Exception, during=None) -> None:
        super().__init__()
        self.error = error
        self.during = during

    async def write(self, change: Change) -> None:
        self.writes.append(change)
        if self.during is not None:
            self.during()
        raise self.error


def run_with(account: Account, **events: asyncio.Event) -> ApplyReport:
    async def scenario() -> ApplyReport:
        return await apply_plan(account, plan_for(), DESIRED, **events)

    return asyncio.run(scenario())


def test_a_request_never_sent_is_skipped_not_failed():
    report = run_with(Refusing(NotSent("stopped", operation="assign +918044319240")))
    [outcome] = report.outcomes
    assert (outcome.status, outcome.message) == (
        "skipped",
        "not applied: the run stopped while it waited its turn",
    )
    assert not report.expired


def test_a_429_cut_short_by_the_deadline_is_skipped_and_the_report_says_the_deadline_passed():
    expired = asyncio.Event()
    error = RateLimited("wait", operation="assign +918044319240", status=429)
    report = run_with(Refusing(error, during=expired.set), expired=expired)
    [outcome] = report.outcomes
    assert (outcome.status, outcome.message) == (
        "skipped",
        "not applied: the run's deadline passed while it waited its turn",
    )
    assert report.expired
    assert not report.interrupted


def test_a_429_with_time_left_fails_with_the_apis_message():
    report = run_with(Refusing(RateLimited("slow down", operation="assign", status=429)))
    [outcome] = report.outcomes
    assert (outcome.status, outcome.message) == ("failed", "slow down")
    assert not report.expired


def test_a_deadline_that_skipped_nothing_is_not_reported():
    expired = asyncio.Event()
    account = Account()
    account.on_write = ["land"]
    original = account.write

    async def write(change: Change) -> None:
        await original(change)
        expired.set()  # passes after the only write landed

    account.write = write  # type: ignore[method-assign]
    report = run_with(account, expired=expired)
    assert [o.status for o in report.outcomes] == ["done"]
    assert not report.expired
    assert report.ok


def test_the_deadline_is_reported_when_the_verification_read_fails():
    expired = asyncio.Event()
    expired.set()
    account = Account()
    account.failing_reads = 1
    report = run_with(account, expired=expired)
    assert [o.message for o in report.outcomes] == ["not started: the run's deadline passed"]
    assert report.expired
    assert report.final is None
    assert report.unverified is not None


def test_a_change_is_not_resent_once_the_deadline_passed_and_says_why():
    expired = asyncio.Event()
    account = Account()
    account.on_write = ["lost"]
    original = account.write

    async def write(change: Change) -> None:
        expired.set()  # the deadline passes while the first attempt is in flight
        await original(change)

    account.write = write  # type: ignore[method-assign]
    report = run_with(account, expired=expired)
    [outcome] = report.outcomes
    assert (outcome.status, outcome.message, outcome.attempts) == (
        "skipped",
        "not sent again: the run's deadline passed",
        1,
    )
    assert len(account.writes) == 1
    assert report.expired


def test_the_deadline_is_reported_when_a_second_signal_skips_the_verification_read():
    expired, stop, abandon = asyncio.Event(), asyncio.Event(), asyncio.Event()
    for event in (expired, stop, abandon):
        event.set()
    report = run_with(Account(), expired=expired, stop=stop, abandon=abandon)
    assert [o.status for o in report.outcomes] == ["skipped"]
    assert report.final is None
    assert report.expired


def test_the_deadline_is_reported_when_the_account_after_the_changes_cannot_be_planned():
    # N1 is to be detached; someone deletes it meanwhile, so the plan made after the changes
    # would have to create it without an assistant, which it cannot.
    desired = state(want(N1, None), want(N2, A1))
    account = Account()
    account.rows = {N1: row(N1, A1)}
    plan = make_plan(desired, Snapshot(rows=(row(N1, A1),)), Policy(desired.safety))
    expired = asyncio.Event()

    async def write(change: Change) -> None:
        account.rows.pop(N1, None)
        expired.set()

    account.write = write  # type: ignore[method-assign]

    async def scenario() -> ApplyReport:
        return await apply_plan(account, plan, desired, expired=expired)

    report = asyncio.run(scenario())
    assert [o.status for o in report.outcomes] == ["done", "skipped"]
    assert report.unverified is not None
    assert report.unverified.startswith("the account after the changes cannot be planned")
    assert report.expired
