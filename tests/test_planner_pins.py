"""Planner behaviour at the edges: every problem reported, duplicates, guards exactly at a limit."""

from __future__ import annotations

import pytest

from inbound_sync.config import SafetyPolicy
from inbound_sync.errors import PlanError
from inbound_sync.plan import Binding, Policy, make_plan
from planning import A1, A2, S1, S2, row, snapshot, state, want

N1, N2, N3 = "918044319240", "918044319241", "918044319242"
# Possible in India but not valid there: accepted only with allow_unverified.
UNVERIFIED = "911000000000"


def plan_of(desired, snap, allow_destructive=False):
    return make_plan(desired, snap, Policy(desired.safety, allow_destructive))


def test_every_number_that_cannot_be_assigned_is_reported_on_its_own_line():
    desired = state(want(N1, None), want(N2), want(N3, None, S1))
    with pytest.raises(PlanError) as caught:
        plan_of(desired, snapshot())
    assert str(caught.value) == (
        "inbound.yaml:240: +91 80 4431 9240 does not exist in the account and cannot be created "
        "without an assistant (assign requires one)\n"
        "inbound.yaml:242: +91 80 4431 9242 does not exist in the account and cannot be created "
        "without an assistant (assign requires one)"
    )


def test_unchanged_counts_every_number_already_as_declared():
    desired = state(want(N1, A1), want(N2, A2, S1), want(N3, A1))
    plan = plan_of(desired, snapshot(row(N1, A1), row(N2, A2, S1), row(N3, A1)))
    assert plan.changes == ()
    assert plan.unchanged == 3
    assert plan.summary.unchanged == 3


def test_changes_carry_the_e164_form_of_their_number():
    desired = state(want(N1), unmanaged="delete")
    plan = plan_of(desired, snapshot(row(N2)))
    assert [(c.action, c.normalized, c.e164) for c in plan.changes] == [
        ("delete", N2, "+" + N2),
        ("assign", N1, "+" + N1),
    ]


def test_two_remote_rows_sharing_a_number_manage_the_first_and_warn():
    remote = snapshot(
        row(N1, A1, inbound_id="first"),
        row(N1, A2, inbound_id="second"),
        row(N2, A2, inbound_id="after-them"),
    )
    plan = plan_of(state(want(N1, A1), unmanaged="delete"), remote)
    assert plan.warnings == (
        "mappings first and second share the number +91 80 4431 9240; only the first is managed",
    )
    assert plan.unchanged == 1
    # The row after the duplicate is still indexed, so the unmanaged policy reaches it.
    assert [(c.action, c.inbound_id) for c in plan.changes] == [("delete", "after-them")]


def test_a_remote_row_with_a_possible_but_unverified_number_parses_without_a_warning():
    plan = plan_of(state(want(N1)), snapshot(row(N1), row(UNVERIFIED, None)))
    assert plan.warnings == ()
    assert [r.normalized for r in plan.unmanaged] == [UNVERIFIED]


def test_an_unverified_phone_number_still_rescues_a_malformed_normalized_value():
    remote = row("x", A2, phone_number="+" + UNVERIFIED)
    plan = plan_of(state(unmanaged="delete"), snapshot(remote))
    assert plan.warnings == (
        f"mapping id-x: phone_number_normalized 'x' does not parse; matched by phone_number "
        f"'+{UNVERIFIED}' as +91 1000000000",
    )
    assert [(c.action, c.normalized, c.e164) for c in plan.changes] == [
        ("delete", UNVERIFIED, "+" + UNVERIFIED)
    ]


def test_a_rescued_row_is_keyed_and_reported_by_its_parsed_number():
    remote = row("91 80 4431 9240", A1, phone_number="080 4431 9240")
    unmanaged = plan_of(state(), snapshot(remote)).unmanaged
    assert [r.normalized for r in unmanaged] == [N1]
    deleted = plan_of(state(unmanaged="delete"), snapshot(remote)).changes
    assert [(c.normalized, c.inbound_id) for c in deleted] == [(N1, "id-91 80 4431 9240")]


def test_an_unmanaged_detach_goes_from_the_rows_binding_to_unrouted():
    plan = plan_of(state(unmanaged="detach"), snapshot(row(N1, A1, S1)))
    (change,) = plan.changes
    assert (change.action, change.before, change.after) == (
        "detach",
        Binding(A1, S1),
        Binding(None, None),
    )


def test_an_unmanaged_delete_has_no_after():
    plan = plan_of(state(unmanaged="delete"), snapshot(row(N1, A1, S1)))
    (change,) = plan.changes
    assert (change.action, change.before, change.after) == ("delete", Binding(A1, S1), None)


class TestGuardBoundaries:
    def account(self, size):
        return snapshot(*(row(f"9180443192{i:02d}") for i in range(size)))

    def keeping(self, count, *, max_destructive=100, percent=30.0):
        desired = state(*(want(f"9180443192{i:02d}") for i in range(count)), unmanaged="delete")
        return desired._replace(safety=SafetyPolicy(max_destructive, percent))

    def test_exactly_max_destructive_changes_are_allowed(self):
        plan = plan_of(state(unmanaged="delete", max_destructive=4), self.account(4))
        assert len(plan.changes) == 4
        assert plan.refusals == ()

    def test_one_more_than_max_destructive_is_refused(self):
        plan = plan_of(state(unmanaged="delete", max_destructive=3), self.account(4))
        assert plan.refusals == (
            "4 destructive changes (deletes, detaches and unroutings) exceed safety.max_destructive = 3",
        )

    def test_exactly_the_percent_limit_is_allowed(self):
        plan = plan_of(self.keeping(5, percent=50.0), self.account(10))
        assert len(plan.changes) == 5
        assert plan.refusals == ()

    def test_just_above_the_percent_limit_is_refused(self):
        plan = plan_of(self.keeping(5, percent=49.5), self.account(10))
        assert plan.refusals == (
            "5 destructive changes are 50% of the account's 10 mappings, above safety.max_destructive_percent = 49.5",
        )

    def test_the_share_is_rounded_in_the_message(self):
        plan = plan_of(self.keeping(8, percent=10.0), self.account(11))
        assert plan.refusals == (
            "3 destructive changes are 27% of the account's 11 mappings, above safety.max_destructive_percent = 10",
        )


def test_labels_come_from_remote_names_when_no_alias_exists():
    remote = row(N1, A2, S2, assistant_name="Sales bot", strategy_name="CRM lookup")
    plan = plan_of(state(want(N1, A2, S2)), snapshot(remote))
    assert plan.label(A2) == "Sales bot"
    assert plan.label(S2) == "CRM lookup"
    assert dict(plan.labels) == {A1: "support", A2: "Sales bot", S1: "crm", S2: "CRM lookup"}


def test_an_id_without_a_remote_name_gets_no_label():
    remote = row(N1, A2, S2, assistant_name=None, strategy_name=None)
    plan = plan_of(state(want(N1, A2, S2)), snapshot(remote))
    assert plan.label(A2) == A2
    assert plan.label(S2) == S2
    assert A2 not in plan.labels
    assert S2 not in plan.labels


def test_a_remote_name_without_an_id_gets_no_label():
    remote = row(N1, None, None, assistant_name="Orphan", strategy_name="Orphan lookup")
    plan = plan_of(state(want(N1, None)), snapshot(remote))
    assert dict(plan.labels) == {A1: "support", S1: "crm"}


def test_a_plan_made_to_undo_an_apply_says_so():
    assert plan_of(state(want(N1))._replace(purpose="undo"), snapshot()).undo is True
    assert plan_of(state(want(N1)), snapshot()).undo is False


# An assistant the account lists by id but no longer names, while it names the others


def named(number, assistant, name):
    return row(number, assistant, assistant_name=name)


def test_an_assistant_that_lost_its_name_is_warned_about_with_its_numbers():
    remote = snapshot(
        named(N1, A1, "Support"),
        *(named(f"9180443192{i}", A2, None) for i in (50, 53, 51, 52)),
        named(N3, None, None),
    )
    plan = plan_of(state(), remote)
    assert plan.warnings == (
        f"assistant {A2} has no name in the account, unlike the others: it may have been "
        "deleted, and calls to +91 80 4431 9250, +91 80 4431 9251, +91 80 4431 9252 and 1 more "
        "may not route",
    )


def test_three_unnamed_numbers_are_all_listed():
    remote = snapshot(
        named(N1, A1, "Support"),
        named(N2, A2, None),
        named(N3, A2, None),
        named("918044319243", A2, None),
    )
    (warning,) = plan_of(state(), remote).warnings
    assert warning.endswith(
        "calls to +91 80 4431 9241, +91 80 4431 9242, +91 80 4431 9243 may not route"
    )


def test_each_unnamed_assistant_gets_its_own_warning_in_id_order():
    remote = snapshot(named(N1, S1, "Lookup"), named(N2, A2, None), named(N3, A1, None))
    assert [w.split(" has")[0] for w in plan_of(state(), remote).warnings] == [
        f"assistant {A1}",
        f"assistant {A2}",
    ]


def test_no_warning_when_the_account_names_no_assistant_at_all():
    remote = snapshot(named(N1, A1, None), named(N2, A2, None))
    assert plan_of(state(), remote).warnings == ()


def test_the_plan_records_the_size_of_the_account():
    # Read again where the guards are recomputed (fleet moves), so it counts every row listed.
    remote = snapshot(row(N1), row(N1, A2, inbound_id="duplicate"), row(N2, None))
    assert plan_of(state(want(N1)), remote).account_size == 3
