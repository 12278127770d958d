"""Property tests: for random desired states and accounts, one apply converges."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inbound_sync.errors import PlanError
from inbound_sync.plan import Policy, make_plan
from planning import A1, A2, S1, S2, apply_in_memory, row, snapshot, state, want

NUMBERS = [f"9180443192{i:02d}" for i in range(12)]
assistants = st.sampled_from([A1, A2, None])
strategies = st.sampled_from([S1, S2, None])


@st.composite
def scenarios(draw):
    declared = draw(st.lists(st.sampled_from(NUMBERS), unique=True))
    remote = draw(st.lists(st.sampled_from(NUMBERS), unique=True))
    entries = [
        want(
            n,
            draw(assistants),
            draw(strategies),
            ensure=draw(st.sampled_from(["present", "absent"])),
        )
        for n in declared
    ]
    rows = [row(n, draw(assistants), draw(strategies)) for n in remote]
    policy = draw(st.sampled_from(["ignore", "detach", "delete"]))
    return state(*entries, unmanaged=policy), snapshot(*rows)


def plan_or_none(desired, snap):
    try:
        return make_plan(desired, snap, Policy(desired.safety, allow_destructive=True))
    except PlanError:
        return None


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_apply_then_plan_again_yields_no_changes(scenario):
    desired, snap = scenario
    plan = plan_or_none(desired, snap)
    if plan is None:
        # Only an unroutable new number makes planning impossible.
        remote = {r.normalized for r in snap.rows}
        assert any(
            n.assistant_id is None and n.ensure == "present" and n.normalized not in remote
            for n in desired.numbers
        )
        return
    again = make_plan(desired, apply_in_memory(plan, snap), Policy(desired.safety))
    assert again.changes == ()


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_plan_never_touches_an_ignored_unmanaged_number(scenario):
    desired, snap = scenario
    desired = desired._replace(unmanaged="ignore")
    plan = plan_or_none(desired, snap)
    if plan is None:
        return
    declared = {n.normalized for n in desired.numbers}
    assert all(c.normalized in declared for c in plan.changes)
    assert {r.normalized for r in plan.unmanaged} == {r.normalized for r in snap.rows} - declared


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_plan_is_deterministic_whatever_the_list_order(scenario):
    desired, snap = scenario
    first = plan_or_none(desired, snap)
    second = plan_or_none(desired, snapshot(*reversed(snap.rows)))
    assert first == second
