from __future__ import annotations

from inbound_sync.apply.executor import AccountView
from inbound_sync.plan import Policy, make_plan
from planning import A1, A2, row, snapshot, state, want

N1, N2 = "918044319240", "918044319241"


def changes(desired, snap):
    return {
        c.normalized: c for c in make_plan(desired, snap, Policy(allow_destructive=True)).changes
    }


def test_the_view_judges_each_action_by_lookup():
    before = snapshot(row(N1, A1))
    planned = changes(state(want(N1, A2), want(N2, A1)), before)
    after = AccountView.of(snapshot(row(N1, A2), row(N2, A1, inbound_id="new")))
    assert after.shows(planned[N1])
    assert after.shows(planned[N2])
    assert not AccountView.of(before).shows(planned[N1])
    assert not AccountView.of(before).shows(planned[N2])


def test_a_delete_is_shown_by_the_mapping_being_gone():
    before = snapshot(row(N1, A1))
    [delete] = changes(state(want(N1, ensure="absent")), before).values()
    assert AccountView.of(snapshot()).shows(delete)
    assert not AccountView.of(before).shows(delete)
    assert AccountView.of(before).has_mapping(delete)
