"""What the executor reports for each change, against a scripted in-memory account."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from inbound_sync.api import request_tag
from inbound_sync.apply.executor import (
    Executor,
    Outcome,
    Settings,
    apply_plan,
    is_done,
)
from inbound_sync.config import DesiredState, SafetyPolicy
from inbound_sync.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    NotSent,
    OutcomeUnknown,
    ServerError,
)
from inbound_sync.plan import Binding, Change, Plan, Policy, Snapshot, make_plan
from planning import A1, A2, S1, apply_in_memory, row, snapshot, state, want

N1, N2, N3 = "918044319240", "918044319241", "918044319242"

# What one write does: None applies it; an exception is raised, after applying the change when
# it comes as ("applied", exc), or after the user's Ctrl-C when it comes as ("stop", exc).
Step = BaseException | tuple[str, BaseException] | None


def unknown(detail: str = "ReadTimeout") -> OutcomeUnknown:
    return OutcomeUnknown(detail, operation="POST /inbound/assign")


class Account:
    """An account in memory whose writes and reads follow a script, then succeed."""

    def __init__(
        self,
        rows: Snapshot,
        writes: dict[str, list[Step]] | None = None,
        reads: list[BaseException | None] | None = None,
    ) -> None:
        self.rows = rows
        self.writes = writes or {}
        self.reads = reads or []
        self.written: list[str] = []
        self.tags: list[dict[str, str]] = []
        self.listed = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.stop = asyncio.Event()
        self.expired = asyncio.Event()

    async def snapshot(self) -> Snapshot:
        self.listed += 1
        failure = self.reads.pop(0) if self.reads else None
        if failure is not None:
            raise failure
        return self.rows

    async def write(self, change: Change) -> None:
        self.written.append(change.normalized)
        self.tags.append(dict(request_tag.get()))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        script = self.writes.get(change.normalized, [])
        step = script.pop(0) if script else None
        if isinstance(step, tuple):
            if step[0] == "stop":
                self.stop.set()
            elif step[0] == "expire":
                self.expired.set()
            else:
                self._apply(change)
            raise step[1]
        if step is not None:
            raise step
        self._apply(change)

    def _apply(self, change: Change) -> None:
        changed = Plan((change,), 0, (), (), (), 0, {})
        self.rows = apply_in_memory(changed, self.rows)


SETTINGS = Settings(concurrency=4, attempts=3, reread_window=0.0)


def plan_for(desired: DesiredState, account: Account) -> Plan:
    return make_plan(desired, account.rows, Policy(desired.safety, allow_destructive=True))


def run(
    account: Account,
    desired: DesiredState,
    *,
    settings: Settings = SETTINGS,
    stop: asyncio.Event | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    plan: Plan | None = None,
    abandon: asyncio.Event | None = None,
    expired: asyncio.Event | None = None,
) -> Any:
    plan = plan if plan is not None else plan_for(desired, account)

    async def go() -> Any:
        return await apply_plan(
            account, plan, desired, settings, on_outcome, stop, abandon, expired
        )

    return asyncio.run(go())


def only(report: Any) -> tuple[str, str, int]:
    (outcome,) = report.outcomes
    return outcome.status, outcome.message, outcome.attempts


# Attempts


def test_an_outcome_unknown_on_every_attempt_fails_after_the_last_one():
    account = Account(snapshot(), writes={N1: [unknown()] * 3})
    report = run(account, state(want(N1)))
    assert only(report) == (
        "failed",
        "outcome still unknown after 3 attempts; the account does not show the change",
        3,
    )
    assert account.written == [N1] * 3
    assert report.outcomes[0].change.normalized == N1
    assert not report.ok


def test_attempts_count_every_write_sent():
    account = Account(snapshot(), writes={N1: [unknown(), unknown()]})
    assert only(run(account, state(want(N1)))) == ("done", "done", 3)


def test_an_unknown_outcome_confirmed_by_the_reread_is_done_at_that_attempt():
    account = Account(snapshot(), writes={N1: [unknown(), ("applied", unknown("dropped"))]})
    assert only(run(account, state(want(N1)))) == (
        "done",
        "done (confirmed by re-reading the account after: dropped)",
        2,
    )


def test_an_unknown_outcome_that_cannot_be_reread_fails_without_retrying():
    listing_fails = ServerError("server error", operation="GET /inbound/list", status=503)
    account = Account(snapshot(), writes={N1: [unknown()]}, reads=[listing_fails])
    report = run(account, state(want(N1)))
    assert only(report) == (
        "failed",
        "ReadTimeout; the account could not be read to learn the outcome",
        1,
    )
    assert account.written == [N1]


def test_a_plain_api_error_fails_at_once_with_its_detail():
    refused = ApiError("short and stout", operation="POST /inbound/assign", status=418)
    account = Account(snapshot(), writes={N1: [refused]})
    assert only(run(account, state(want(N1)))) == ("failed", "short and stout", 1)
    assert account.listed == 1  # the verification only


# 404 and 409


def not_found(detail: str = "Inbound mapping not found") -> NotFoundError:
    return NotFoundError(detail, operation="POST /inbound/x", status=404)


def test_an_assign_answered_404_fails_at_once_with_the_apis_message():
    account = Account(snapshot(), writes={N1: [not_found("Assistant not found")]})
    report = run(account, state(want(N1)))
    assert only(report) == (
        "failed",
        f"Assistant not found: assistant 'support' ({A1}), referenced at inbound.yaml:240 "
        "no longer exists in the account, or never did",
        1,
    )
    assert account.written == [N1]
    assert account.listed == 1  # no re-read: only the verification


def test_a_404_on_an_update_whose_mapping_still_exists_keeps_the_apis_message():
    account = Account(snapshot(row(N1, A1)), writes={N1: [not_found("Assistant not found")]})
    assert only(run(account, state(want(N1, A2)))) == (
        "failed",
        f"Assistant not found: assistant {A2}, referenced at inbound.yaml:240 "
        "no longer exists in the account, or never did",
        1,
    )


def test_a_404_on_an_update_whose_mapping_is_gone_says_so():
    account = Account(snapshot(row(N1, A1)), writes={N1: [not_found()]})
    plan = plan_for(state(want(N1, A2)), account)
    account.rows = snapshot()
    assert only(run(account, state(want(N1, A2)), plan=plan)) == (
        "failed",
        "the mapping no longer exists (Inbound mapping not found)",
        1,
    )


def test_a_404_on_an_update_the_account_already_shows_is_done():
    account = Account(snapshot(row(N1, A1)), writes={N1: [("applied", not_found())]})
    assert only(run(account, state(want(N1, A2)))) == ("done", "done", 1)


def test_a_404_on_a_delete_of_a_mapping_already_gone_is_done_and_says_so():
    account = Account(snapshot(row(N1, A1)), writes={N1: [("applied", not_found())]})
    assert only(run(account, state(want(N1, ensure="absent")))) == (
        "done",
        "done (the mapping was already gone)",
        1,
    )


def conflict() -> ConflictError:
    return ConflictError("already assigned", operation="POST /inbound/assign", status=409)


def test_a_409_on_a_number_the_account_already_shows_as_planned_is_done():
    account = Account(snapshot(), writes={N1: [("applied", conflict())]})
    assert only(run(account, state(want(N1)))) == (
        "done",
        "done (the number was already assigned as planned)",
        1,
    )


def test_a_409_on_a_number_held_elsewhere_fails_naming_it():
    account = Account(snapshot(), writes={N1: [conflict()]})
    assert only(run(account, state(want(N1)))) == (
        "failed",
        "conflict: +91 80 4431 9240 is already assigned to an active mapping outside this "
        "account or with other settings (already assigned)",
        1,
    )


# Verification


def test_after_a_failed_verification_read_remaining_holds_exactly_the_changes_not_done():
    listing_fails = ServerError("server error", operation="GET /inbound/list", status=503)
    account = Account(
        snapshot(row(N3, A1)),
        writes={N2: [ApiError("no", operation="POST /inbound/assign")]},
        reads=[listing_fails],
    )
    desired = state(want(N1), want(N2), want(N3, A2))
    plan = plan_for(desired, account)
    report = run(account, desired)
    assert [(o.change.normalized, o.status) for o in report.outcomes] == [
        (N3, "done"),
        (N1, "done"),
        (N2, "failed"),
    ]
    assert report.remaining == plan._replace(changes=(plan.changes[2],))
    assert report.remaining.changes[0].normalized == N2
    assert report.final is None
    assert report.interrupted is False
    assert report.unverified == (
        "the account could not be read after the changes: "
        "GET /inbound/list failed (HTTP 503): server error"
    )


def test_an_interrupted_apply_whose_verification_read_fails_stays_interrupted():
    listing_fails = ServerError("server error", operation="GET /inbound/list", status=503)
    account = Account(snapshot(), reads=[listing_fails])
    stop = asyncio.Event()
    stop.set()
    desired = state(want(N1), want(N2))
    plan = plan_for(desired, account)
    report = run(account, desired, stop=stop)
    assert report.interrupted is True
    assert report.remaining == plan
    assert report.unverified is not None
    assert account.written == []


def test_an_account_that_cannot_be_planned_after_the_changes_is_reported():
    # N2 is declared detached but is missing from the account: planning it is an error.
    account = Account(snapshot(row(N2, A1)), writes={N2: [not_found()]})
    desired = state(want(N1), want(N2, None))
    plan = plan_for(desired, account)
    account.rows = snapshot()
    report = run(account, desired, plan=plan)
    assert [(o.change.action, o.status) for o in report.outcomes] == [
        ("detach", "failed"),
        ("assign", "done"),
    ]
    assert report.remaining == plan._replace(changes=(plan.changes[0],))
    assert report.final == account.rows
    assert report.interrupted is False
    assert report.unverified == (
        "the account after the changes cannot be planned: inbound.yaml:241: +91 80 4431 9241 "
        "does not exist in the account and cannot be created without an assistant "
        "(assign requires one)"
    )


def test_the_verification_plan_ignores_the_safety_guards():
    # Applying a plan the user approved leaves nothing for the guards to refuse afterwards.
    desired = state(unmanaged="delete")._replace(safety=SafetyPolicy(0, 0.0))
    account = Account(snapshot(row(N1), row(N2)), writes={N1: [ApiError("no", operation="x")]})
    report = run(account, desired)
    assert [c.normalized for c in report.remaining.changes] == [N1]
    assert report.remaining.refusals == ()
    assert report.final == account.rows


def test_a_converged_apply_reports_the_final_list():
    account = Account(snapshot())
    report = run(account, state(want(N1)))
    assert report.final == account.rows == snapshot(row(N1, A1, inbound_id=f"new-{N1}"))
    assert report.ok


# Interruption and progress


def test_changes_skipped_by_an_interruption_say_so_and_count_no_attempt():
    stop = asyncio.Event()
    stop.set()
    seen: list[Outcome] = []
    account = Account(snapshot())
    report = run(account, state(want(N1)), stop=stop, on_outcome=seen.append)
    (outcome,) = report.outcomes
    assert outcome == Outcome(outcome.change, "skipped", "not started: interrupted", attempts=0)
    assert outcome.change.normalized == N1
    assert seen == [outcome]


def test_each_outcome_is_reported_as_it_finishes():
    seen: list[Outcome] = []
    report = run(Account(snapshot()), state(want(N1), want(N2)), on_outcome=seen.append)
    assert sorted(seen) == sorted(report.outcomes)
    assert len(seen) == 2


def test_a_concurrency_of_one_sends_one_write_at_a_time():
    account = Account(snapshot())
    run(account, state(want(N1), want(N2), want(N3)), settings=SETTINGS._replace(concurrency=1))
    assert account.most_in_flight == 1
    wide = Account(snapshot())
    run(wide, state(want(N1), want(N2), want(N3)))
    assert wide.most_in_flight == 3


# What each write is tagged with, for the request log


def test_each_write_is_tagged_with_its_action_number_and_mapping():
    account = Account(snapshot(row(N2, A1, inbound_id="mapping-2")))
    run(account, state(want(N1), want(N2, A2)))
    assert account.tags == [
        {"action": "update", "number": "+" + N2, "inbound_id": "mapping-2"},
        {"action": "assign", "number": "+" + N1, "inbound_id": ""},
    ]


def test_is_done_tells_whether_a_snapshot_shows_a_change():
    change = Change("update", N1, "+" + N1, "id-1", Binding(A1, None), Binding(A2, None))
    assert is_done(change, snapshot(row(N1, A2, inbound_id="id-1")))
    assert not is_done(change, snapshot(row(N1, A1, inbound_id="id-1")))


def test_the_executor_can_be_driven_directly():
    account = Account(snapshot())
    desired = state(want(N1))

    async def go() -> Any:
        return await Executor(account, SETTINGS).run(plan_for(desired, account), desired)

    assert only(asyncio.run(go())) == ("done", "done", 1)


# The API's 404 names only the kind of what it did not find; the outcome names which one.


def test_a_missing_strategy_is_named_with_its_alias_and_config_line():
    account = Account(snapshot(), writes={N1: [not_found("Inbound context strategy not found")]})
    assert only(run(account, state(want(N1, A1, S1)))) == (
        "failed",
        f"Inbound context strategy not found: strategy 'crm' ({S1}), referenced at "
        "inbound.yaml:240 no longer exists in the account, or never did",
        1,
    )


def test_a_missing_assistant_is_named_even_when_the_number_also_has_a_strategy():
    account = Account(snapshot(), writes={N1: [not_found("Assistant not found")]})
    assert only(run(account, state(want(N1, A1, S1))))[1] == (
        f"Assistant not found: assistant 'support' ({A1}), referenced at inbound.yaml:240 "
        "no longer exists in the account, or never did"
    )


def test_a_404_naming_a_kind_the_change_does_not_send_is_left_as_the_api_said():
    account = Account(snapshot(), writes={N1: [not_found("Inbound context strategy not found")]})
    assert only(run(account, state(want(N1, A1)))) == (
        "failed",
        "Inbound context strategy not found",
        1,
    )


def test_a_change_without_a_config_line_names_no_line():
    account = Account(snapshot(), writes={N1: [not_found("Assistant not found")]})
    plan = plan_for(state(want(N1, A1)), account)
    plan = plan._replace(changes=(plan.changes[0]._replace(source=None),))
    assert only(run(account, state(want(N1, A1)), plan=plan))[1] == (
        f"Assistant not found: assistant 'support' ({A1}) no longer exists in the account, "
        "or never did"
    )


# The verification read has the last word on what landed


def test_a_write_the_verification_read_shows_is_reported_done_with_the_earlier_doubt():
    listing_fails = ServerError("server error", operation="GET /inbound/list", status=503)
    account = Account(snapshot(), writes={N1: [("applied", unknown())]}, reads=[listing_fails])
    report = run(account, state(want(N1)))
    assert only(report) == (
        "done",
        "done (the verification read shows it; "
        "ReadTimeout; the account could not be read to learn the outcome)",
        1,
    )
    assert report.ok


def test_a_failure_the_verification_read_does_not_show_stays_failed():
    account = Account(snapshot(), writes={N1: [ApiError("refused", operation="x")]})
    assert only(run(account, state(want(N1)))) == ("failed", "refused", 1)


# Interruptions


def test_a_change_whose_attempt_did_not_land_is_not_sent_again_after_ctrl_c():
    account = Account(snapshot(), writes={N1: [("stop", unknown())]})
    report = run(account, state(want(N1)), stop=account.stop)
    assert only(report) == (
        "skipped",
        "not sent again: interrupted, and the account does not show the last attempt",
        1,
    )
    assert account.written == [N1]
    assert report.interrupted


def test_a_second_interruption_abandons_writes_and_the_verification_read():
    abandon = asyncio.Event()
    abandon.set()
    account = Account(snapshot())
    desired = state(want(N1))
    plan = plan_for(desired, account)
    report = run(account, desired, abandon=abandon)
    assert only(report) == (
        "failed",
        "interrupted again while in flight: the outcome is unknown; "
        "run `inbound-sync plan` to see whether it was applied",
        1,
    )
    assert report.remaining == plan
    assert (report.final, report.interrupted) == (None, True)
    assert report.unverified == "interrupted again: the account was not read after the changes"
    assert (account.written, account.listed) == ([], 0)


def test_ctrl_c_after_a_second_unknown_outcome_counts_both_attempts():
    account = Account(snapshot(), writes={N1: [unknown(), ("stop", unknown())]})
    report = run(account, state(want(N1)), stop=account.stop)
    (outcome,) = report.outcomes
    assert (outcome.change.normalized, outcome.status, outcome.attempts) == (N1, "skipped", 2)
    assert account.written == [N1, N1]


class Hanging(Account):
    """Each write hangs until the run is abandoned; the first one abandons it."""

    def __init__(self, rows: Snapshot, abandon: asyncio.Event) -> None:
        super().__init__(rows)
        self.abandon = abandon

    async def write(self, change: Change) -> None:
        self.written.append(change.normalized)
        self.abandon.set()
        await asyncio.Event().wait()


def test_an_abandoned_write_fails_as_unknown_and_leaves_its_task_usable():
    abandon = asyncio.Event()
    account = Hanging(snapshot(), abandon)
    cancelling: list[int] = []

    def seen(_: Outcome) -> None:
        # The write's task caught its cancellation: it must not stay marked as being cancelled
        # (Python 3.11+ counts cancellations; 3.10 has no count to check).
        task = asyncio.current_task()
        cancelling.append(getattr(task, "cancelling", lambda: 0)())

    report = run(account, state(want(N1)), abandon=abandon, on_outcome=seen)
    assert only(report)[:2] == ("failed", ABANDONED)
    assert account.written == [N1]
    assert cancelling == [0]
    assert report.unverified == "interrupted again: the account was not read after the changes"


ABANDONED = (
    "interrupted again while in flight: the outcome is unknown; "
    "run `inbound-sync plan` to see whether it was applied"
)


# Executing and verifying apart (as a run over several accounts does)


def test_execute_shares_the_limit_it_is_given_and_verify_reports_on_the_outcomes():
    account = Account(snapshot())
    desired = state(want(N1), want(N2), want(N3))
    plan = plan_for(desired, account)
    executor = Executor(account, SETTINGS)

    async def go() -> Any:
        outcomes = await executor.execute(plan, asyncio.Semaphore(1))
        assert account.listed == 0  # executing does not verify
        return outcomes, await executor.verify(plan, desired, outcomes)

    outcomes, report = asyncio.run(go())
    assert account.most_in_flight == 1
    assert [o.status for o in outcomes] == ["done"] * 3
    assert report.outcomes == outcomes
    assert report.final == account.rows
    assert report.remaining.changes == ()
    assert report.ok


def test_execute_without_a_limit_uses_the_settings_concurrency():
    account = Account(snapshot())
    plan = plan_for(state(want(N1), want(N2), want(N3)), account)

    async def go() -> Any:
        return await Executor(account, SETTINGS._replace(concurrency=2)).execute(plan)

    assert len(asyncio.run(go())) == 3
    assert account.most_in_flight == 2


# The run's deadline


def expired_now() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


def test_changes_not_started_before_the_deadline_make_the_report_expired():
    report = run(Account(snapshot()), state(want(N1)), expired=expired_now())
    assert only(report) == ("skipped", "not started: the run's deadline passed", 0)
    assert (report.expired, report.interrupted) == (True, False)


def test_an_interruption_alone_does_not_make_the_report_expired():
    stop = asyncio.Event()
    stop.set()
    report = run(Account(snapshot()), state(want(N1)), stop=stop)
    assert (report.expired, report.interrupted) == (False, True)


def test_a_change_whose_attempt_did_not_land_is_not_sent_again_after_the_deadline():
    account = Account(snapshot(), writes={N1: [("expire", unknown())]})
    report = run(account, state(want(N1)), expired=account.expired)
    assert only(report) == ("skipped", "not sent again: the run's deadline passed", 1)
    assert report.expired is True


def test_a_write_never_sent_while_nothing_stopped_the_run_says_the_run_stopped():
    never = NotSent("waited its turn", operation="POST /inbound/assign")
    account = Account(snapshot(), writes={N1: [never]})
    assert only(run(account, state(want(N1)))) == (
        "skipped",
        "not applied: the run stopped while it waited its turn",
        1,
    )


def test_the_report_stays_expired_when_the_verification_read_fails():
    listing_fails = ServerError("server error", operation="GET /inbound/list", status=503)
    account = Account(snapshot(), reads=[listing_fails])
    report = run(account, state(want(N1)), expired=expired_now())
    assert (report.expired, report.unverified is not None) == (True, True)


def test_the_report_stays_expired_when_the_verification_read_is_abandoned():
    report = run(Account(snapshot()), state(want(N1)), expired=expired_now(), abandon=expired_now())
    assert (report.expired, report.final) == (True, None)


def test_the_report_stays_expired_when_the_account_cannot_be_planned_after():
    # N2 is declared detached but is missing from the account: planning it is an error.
    account = Account(snapshot(row(N2, A1)))
    desired = state(want(N1), want(N2, None))
    plan = plan_for(desired, account)
    account.rows = snapshot()
    report = run(account, desired, plan=plan, expired=expired_now())
    assert report.unverified is not None
    assert report.unverified.startswith("the account after the changes cannot be planned")
    assert report.expired is True
