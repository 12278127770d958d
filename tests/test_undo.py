from __future__ import annotations

from inbound_sync.apply.undo import undo_state
from inbound_sync.plan import Policy, make_plan
from planning import A1, A2, S1, apply_in_memory, row, snapshot, state, want

N1, N2, N3, N4, N5 = (f"9180443192{i}" for i in range(40, 45))


def test_undo_restores_every_changed_number_to_its_state_before():
    before = snapshot(row(N1, A1, S1), row(N2, A1), row(N3, A2), row(N5, A1))
    desired = state(
        want(N1, A2), want(N2, None), want(N3, ensure="absent"), want(N4, A1), unmanaged="delete"
    )
    plan = make_plan(desired, before, Policy(desired.safety, allow_destructive=True))
    after = apply_in_memory(plan, before)

    undo, warnings = undo_state(plan, desired)
    back = apply_in_memory(
        make_plan(undo, after, Policy(undo.safety, allow_destructive=True)), after
    )

    assert warnings == []
    as_bindings = lambda snap: {r.normalized: r.binding for r in snap.rows}  # noqa: E731
    assert as_bindings(back) == as_bindings(before)


def test_undo_cannot_recreate_a_detached_number_that_was_deleted():
    before = snapshot(row(N1, None, None))
    desired = state(want(N1, ensure="absent"))
    plan = make_plan(desired, before, Policy())
    undo, warnings = undo_state(plan, desired)
    assert undo.numbers == ()
    assert warnings == [
        "+91 80 4431 9240 was detached before it was deleted; it cannot be re-created without an assistant, so the undo plan leaves it out"
    ]


def test_undo_leaves_numbers_the_apply_did_not_touch_alone():
    before = snapshot(row(N1, A1), row(N2, A2))
    desired = state(want(N1, A2))
    plan = make_plan(desired, before, Policy())
    undo, _ = undo_state(plan, desired)
    assert [n.normalized for n in undo.numbers] == [N1]
    assert undo.unmanaged == "ignore"
