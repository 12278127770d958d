from __future__ import annotations

import pytest

from inbound_sync.errors import PlanError
from inbound_sync.plan import Binding, Policy, make_plan
from planning import A1, A2, S1, S2, apply_in_memory, row, snapshot, state, want

N1, N2, N3, N4 = "918044319240", "918044319241", "918044319242", "918044319243"


def plan_of(desired, snap, allow_destructive=False):
    return make_plan(desired, snap, Policy(desired.safety, allow_destructive))


def actions(plan):
    return [(c.action, c.normalized) for c in plan.changes]


# One row per case of the specification: (desired entries, remote rows, expected change or None).
CASES = {
    "absent remotely -> assign": (want(N1, A1, S1), None, ("assign", None, Binding(A1, S1))),
    "same -> nothing": (want(N1, A1, S1), row(N1, A1, S1), None),
    "assistant differs -> update": (
        want(N1, A2),
        row(N1, A1),
        ("update", Binding(A1, None), Binding(A2, None)),
    ),
    "strategy added -> update": (
        want(N1, A1, S1),
        row(N1, A1),
        ("update", Binding(A1, None), Binding(A1, S1)),
    ),
    "strategy cleared -> update": (
        want(N1, A1),
        row(N1, A1, S1),
        ("update", Binding(A1, S1), Binding(A1, None)),
    ),
    "null assistant -> detach": (
        want(N1, None),
        row(N1, A1, S1),
        ("detach", Binding(A1, S1), Binding(None, None)),
    ),
    "null assistant, strategy only remote -> detach": (
        want(N1, None),
        row(N1, None, S1),
        ("detach", Binding(None, S1), Binding(None, None)),
    ),
    "null assistant with strategy -> update": (
        want(N1, None, S2),
        row(N1, A1, S1),
        ("update", Binding(A1, S1), Binding(None, S2)),
    ),
    "already detached -> nothing": (want(N1, None), row(N1, None, None), None),
    "absent, present remotely -> delete": (
        want(N1, ensure="absent"),
        row(N1, A1),
        ("delete", Binding(A1, None), None),
    ),
    "absent, absent remotely -> nothing": (want(N1, ensure="absent"), None, None),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_declared_number(case):
    entry, remote, expected = CASES[case]
    plan = plan_of(state(entry), snapshot(remote) if remote else snapshot())
    if expected is None:
        assert plan.changes == ()
        assert plan.unchanged == 1
        return
    [change] = plan.changes
    assert (change.action, change.before, change.after) == expected
    assert change.inbound_id == (remote.inbound_id if remote else None)
    assert change.source == entry.source


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        (row(N1, A2, S1), {"assistant_id": A1}),
        (row(N1, A1), {"inbound_context_strategy_id": S1}),
        (row(N1, A2, S2), {"assistant_id": A1, "inbound_context_strategy_id": S1}),
    ],
)
def test_update_body_holds_only_the_fields_that_differ(remote, expected):
    [change] = plan_of(state(want(N1, A1, S1)), snapshot(remote)).changes
    assert change.patch_body() == expected


def test_update_body_sends_null_to_clear_a_strategy():
    [change] = plan_of(state(want(N1, A1)), snapshot(row(N1, A1, S1))).changes
    assert change.patch_body() == {"inbound_context_strategy_id": None}


def test_null_assistant_missing_remotely_is_a_plan_error_naming_the_entry():
    with pytest.raises(PlanError, match=r"inbound.yaml:240: \+91 80 4431 9240 does not exist"):
        plan_of(state(want(N1, None)), snapshot())


@pytest.mark.parametrize(
    ("policy", "remote", "expected"),
    [
        ("ignore", row(N2, A1), []),
        ("delete", row(N2, A1), [("delete", N2)]),
        ("detach", row(N2, A1), [("detach", N2)]),
        ("detach", row(N2, None), []),
    ],
)
def test_unmanaged_policy(policy, remote, expected):
    plan = plan_of(state(want(N1), unmanaged=policy), snapshot(row(N1), remote))
    assert actions(plan) == expected
    assert len(plan.unmanaged) == (0 if expected else 1)


def test_changes_are_ordered_deletes_detaches_updates_assigns_then_number():
    desired = state(
        want(N4),
        want(N3, A2),
        want(N2, None),
        want(N1, ensure="absent"),
        want("918044319244"),
        unmanaged="delete",
    )
    remote = snapshot(row("918044319299"), row(N3), row(N2), row(N1))
    assert actions(plan_of(desired, remote)) == [
        ("delete", N1),
        ("delete", "918044319299"),
        ("detach", N2),
        ("update", N3),
        ("assign", N4),
        ("assign", "918044319244"),
    ]


def test_remote_row_with_malformed_normalized_value_matches_by_phone_number():
    remote = row("not-digits", A2, phone_number="080 4431 9240")
    plan = plan_of(state(want(N1, A1)), snapshot(remote))
    assert actions(plan) == [("update", N1)]
    assert (
        "does not parse; matched by phone_number '080 4431 9240' as +91 80 4431 9240"
        in plan.warnings[0]
    )


def test_remote_row_that_cannot_be_parsed_at_all_stays_unmanaged_with_a_warning():
    plan = plan_of(state(), snapshot(row("garbage", phone_number="garbage")))
    assert plan.changes == ()
    assert [r.normalized for r in plan.unmanaged] == ["garbage"]
    assert "neither phone_number_normalized" in plan.warnings[0]


def test_labels_prefer_git_aliases_over_remote_names():
    remote = row(N1, A1, S2, assistant_name="Support Assistant", strategy_name="Other lookup")
    plan = plan_of(state(want(N1, A2, S1)), snapshot(remote))
    assert plan.label(A1) == "support"
    assert plan.label(S2) == "Other lookup"
    assert plan.label(A2) == A2
    assert plan.label(None) == "none"


class TestSafety:
    def many(self, count, **kw):
        return snapshot(*(row(f"9180443192{i:02d}") for i in range(count))), state(
            unmanaged="delete", **kw
        )

    def test_more_deletes_than_max_destructive_are_refused(self):
        remote, desired = self.many(5, max_destructive=4)
        plan = plan_of(desired, remote)
        assert plan.refusals == (
            "5 destructive changes (deletes, detaches and unroutings) exceed safety.max_destructive = 4",
        )

    def test_allow_destructive_overrides_thresholds(self):
        remote, desired = self.many(5, max_destructive=4)
        assert plan_of(desired, remote, allow_destructive=True).refusals == ()

    def test_share_of_the_account_is_checked_from_ten_mappings(self):
        desired = state(
            *(want(f"9180443192{i:02d}") for i in range(4, 10)),
            unmanaged="delete",
            max_destructive=100,
        )
        remote = snapshot(*(row(f"9180443192{i:02d}") for i in range(10)))
        plan = plan_of(desired, remote)
        assert plan.refusals == (
            "4 destructive changes are 40% of the account's 10 mappings, above safety.max_destructive_percent = 30",
        )

    def test_share_is_not_checked_below_ten_mappings(self):
        remote, desired = self.many(9, max_destructive=100)
        assert plan_of(desired, remote).refusals == ()

    def test_protected_number_refuses_even_with_allow_destructive(self):
        desired = state(want(N1, ensure="absent", protect=True))
        plan = plan_of(desired, snapshot(row(N1)), allow_destructive=True)
        assert plan.refusals == (
            "+91 80 4431 9240 is protected (inbound.yaml:240) and the plan would delete it",
        )

    def test_protected_number_may_be_updated(self):
        desired = state(want(N1, A2, protect=True))
        assert plan_of(desired, snapshot(row(N1))).refusals == ()


def test_same_inputs_give_identical_plans():
    desired = state(want(N1), want(N2, A2, S1), want(N3, None), unmanaged="detach")
    remote = snapshot(row("918044319299"), row(N3, A1), row(N2, A1))
    assert plan_of(desired, remote) == plan_of(desired, snapshot(*reversed(remote.rows)))


def test_applying_then_planning_again_yields_nothing():
    desired = state(
        want(N1), want(N2, A2, S1), want(N3, None), want(N4, ensure="absent"), unmanaged="delete"
    )
    remote = snapshot(row("918044319299"), row(N3, A1), row(N2, A1), row(N4))
    after = apply_in_memory(plan_of(desired, remote), remote)
    assert plan_of(desired, after).changes == ()
