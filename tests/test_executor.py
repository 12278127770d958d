"""The executor against the real sandbox in-process: faults, unknown outcomes, convergence."""

from __future__ import annotations

import asyncio

import pytest

from e2e_support import bindings, client_for, converge, plan_and_apply, snapshot_of
from planning import A1, A2, S1, state, want
from sandbox_fixtures import controller

N1, N2, N3 = "918044319240", "918044319241", "918044319242"
GLOBEX_NUMBER = "918044319999"


def writes(app) -> int:
    return controller(app).stats()["writes"]


def requests(app, route: str) -> int:
    return controller(app).stats()["requests"].get(route, 0)


def fault(app, kind: str, count: int = 1, match: str = "writes", **extra) -> None:
    controller(app).add_fault({"kind": kind, "count": count, "match": match, **extra})


BASE = state(want(N1, A1, S1), want(N2, A2))


def assert_converged_and_idempotent(app, desired) -> None:
    assert bindings(snapshot_of(app)) == {
        n.normalized: (n.assistant_id, n.strategy_id)
        for n in desired.numbers
        if n.ensure == "present"
    }
    before = writes(app)
    plan, report = converge(app, desired)
    assert plan.changes == ()
    assert report.converged
    assert writes(app) == before


def test_plain_apply_converges_with_one_write_per_change(app):
    _plan, report = converge(app, BASE)
    assert [o.status for o in report.outcomes] == ["done", "done"]
    assert report.converged
    assert writes(app) == 2
    assert requests(app, "GET /inbound/list") == 2  # the plan's read and the verification
    assert_converged_and_idempotent(app, BASE)


def test_every_action_in_one_apply(app):
    converge(app, state(want(N1, A1, S1), want(N2, A2), want(N3, A1)))
    desired = state(
        want(N1, A2), want(N2, None), want(N3, ensure="absent"), want("918044319243", A1)
    )
    plan, report = converge(app, desired)
    assert [c.action for c in plan.changes] == ["delete", "detach", "update", "assign"]
    assert report.ok
    assert_converged_and_idempotent(app, desired)


def test_transient_503_before_the_write_is_resent_after_a_reread(app):
    fault(app, "error_before", status=503)
    _plan, report = converge(app, state(want(N1, A1)))
    [outcome] = report.outcomes
    assert outcome.status == "done"
    assert outcome.attempts == 2
    assert requests(app, "POST /inbound/assign") == 2
    assert writes(app) == 1
    assert_converged_and_idempotent(app, state(want(N1, A1)))


def test_429_with_retry_after_is_retried_by_the_client(app):
    fault(app, "rate_limit", retry_after="2")
    _plan, report = converge(app, state(want(N1, A1)))
    assert report.ok
    assert requests(app, "POST /inbound/assign") == 2
    assert writes(app) == 1


@pytest.mark.parametrize("kind", ["error_after", "drop_after"])
def test_write_applied_but_answered_badly_is_confirmed_by_reread_never_repeated(app, kind):
    fault(app, kind)
    _plan, report = converge(app, state(want(N1, A1, S1)))
    [outcome] = report.outcomes
    assert outcome.status == "done"
    assert "confirmed by re-reading" in outcome.message
    assert requests(app, "POST /inbound/assign") == 1
    assert writes(app) == 1
    assert_converged_and_idempotent(app, state(want(N1, A1, S1)))


def test_dropped_connection_before_the_write_is_resent(app):
    fault(app, "drop_before")
    _plan, report = converge(app, state(want(N1, A1)))
    assert report.ok
    assert requests(app, "POST /inbound/assign") == 2
    assert writes(app) == 1


def test_unknown_outcomes_of_concurrent_changes_share_rereads(app):
    numbers = [f"9180443192{i:02d}" for i in range(50, 58)]
    desired = state(*(want(n, A1) for n in numbers))
    fault(app, "error_after", count=8)
    _plan, report = converge(app, desired)
    assert report.ok
    assert writes(app) == 8
    rereads = requests(app, "GET /inbound/list") - 2
    assert 1 <= rereads < 8


def test_409_from_a_number_held_by_another_tenant_fails_without_retry(app):
    _plan, report = converge(app, state(want(GLOBEX_NUMBER, A1), want(N1, A1)))
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert [o.change.normalized for o in failed] == [GLOBEX_NUMBER]
    assert (
        "conflict: +91 80 4431 9999 is already assigned to an active mapping" in failed[0].message
    )
    assert requests(app, "POST /inbound/assign") == 2
    assert not report.ok
    assert [c.normalized for c in report.remaining.changes] == [GLOBEX_NUMBER]


def test_strategy_deleted_between_plan_and_apply_fails_with_the_api_message(app):
    converge(app, state(want(N1, A1)))

    async def scenario():
        async with client_for(app) as client:
            from inbound_sync.apply import ClientAccount, Settings, apply_plan
            from inbound_sync.plan import Policy, make_plan

            desired = state(want(N1, A1, S1))
            account = ClientAccount(client)
            plan = make_plan(desired, await account.snapshot(), Policy())
            controller(app).delete_strategy(S1)
            return await apply_plan(account, plan, desired, Settings())

    report = asyncio.run(scenario())
    [outcome] = report.outcomes
    assert outcome.status == "failed"
    assert "strategy not found" in outcome.message.lower()
    assert requests(app, "PATCH /inbound/update/{inbound_id}") == 1
    assert not report.converged


def test_delete_of_a_mapping_already_gone_counts_as_done(app):
    converge(app, state(want(N1, A1)))

    async def scenario():
        async with client_for(app) as client:
            from inbound_sync.apply import ClientAccount, Settings, apply_plan
            from inbound_sync.plan import Policy, make_plan

            desired = state(want(N1, ensure="absent"))
            account = ClientAccount(client)
            plan = make_plan(desired, await account.snapshot(), Policy())
            await client.delete(plan.changes[0].inbound_id)  # someone else got there first
            return await apply_plan(account, plan, desired, Settings())

    report = asyncio.run(scenario())
    assert [o.status for o in report.outcomes] == ["done"]
    assert report.converged


def test_failure_of_one_change_does_not_stop_the_others(app):
    fault(app, "error_before", status=400, match="POST /inbound/assign")
    _plan, report = converge(app, state(want(N1, A1), want(N2, A1), want(N3, A1)), concurrency=1)
    statuses = sorted(o.status for o in report.outcomes)
    assert statuses == ["done", "done", "failed"]
    assert writes(app) == 2


def test_interruption_starts_no_new_change_and_reports(app):
    desired = state(*(want(f"9180443192{i:02d}", A1) for i in range(60, 66)))

    async def scenario():
        stop = asyncio.Event()
        stop.set()
        async with client_for(app) as client:
            return await plan_and_apply(client, desired, stop=stop)

    _plan, report = asyncio.run(scenario())
    assert report.interrupted
    assert {o.status for o in report.outcomes} == {"skipped"}
    assert writes(app) == 0
    _plan, report = converge(app, desired)
    assert report.ok
