"""What a stale saved plan says: the numbers whose planned change differs, at most ten."""

from __future__ import annotations

from inbound_sync.plan import make_plan
from inbound_sync.plan.model import Policy, change_data
from inbound_sync.plan.saved import stale_differences
from planning import A1, A2, row, snapshot, state, want

NUMBERS = [f"9180443192{i:02d}" for i in range(40, 52)]


def changes(desired, snap):
    return [change_data(c) for c in make_plan(desired, snap, Policy(desired.safety)).changes]


def test_a_change_that_differs_shows_what_was_saved_and_what_is_needed_now():
    desired = state(want(NUMBERS[0], A2), want(NUMBERS[1], A2))
    saved = changes(desired, snapshot(row(NUMBERS[0], A1), row(NUMBERS[1], A1)))
    now = changes(desired, snapshot(row(NUMBERS[0], None), row(NUMBERS[1], A1)))
    assert stale_differences(saved, now) == [
        f"+91 80 4431 9240: saved update (assistant {A1}, strategy none -> assistant {A2}, "
        f"strategy none); now update (assistant none, strategy none -> assistant {A2}, "
        "strategy none)"
    ]


def test_at_most_ten_numbers_are_named():
    desired = state(*(want(n, A2) for n in NUMBERS))
    saved = changes(desired, snapshot())
    lines = stale_differences(saved, [])
    assert len(lines) == 11
    assert lines[0].startswith("+91 80 4431 9240: saved assign (no mapping -> ")
    assert lines[9].startswith("+91 80 4431 9249: ")
    assert lines[10] == "... and 2 more"


def test_identical_changes_name_nothing():
    desired = state(want(NUMBERS[0], A2))
    saved = changes(desired, snapshot())
    assert stale_differences(saved, list(saved)) == []
