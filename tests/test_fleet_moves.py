"""Planning a fleet: per-target plans, and moves paired across targets of one system."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_support import fleet_target
from inbound_sync.config import DesiredState
from inbound_sync.fleet import FleetPlan, TargetInput, make_fleet_plan
from inbound_sync.fleet.saved import fleet_document
from inbound_sync.plan import Policy, Snapshot, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from planning import A1, A2, apply_in_memory, row, snapshot, state, want
from test_render import GOLDEN

N0, N1, N2 = "918044319240", "918044319241", "918044319242"
EU = "https://eu.example.com:443"
SCHEMA = json.loads((GOLDEN.parent.parent / "schemas" / "plan.schema.json").read_text())


def inputs(*targets: tuple[str, DesiredState, Snapshot] | tuple[str, DesiredState, Snapshot, str]):
    found = []
    for item in targets:
        name, desired, snap = item[:3]
        system = item[3] if len(item) > 3 else "https://api.example.com:443"
        found.append(TargetInput(fleet_target(name, system), desired, snap, Policy(desired.safety)))
    return found


def by_name(plan: FleetPlan):
    return {t.name: t.plan for t in plan.targets}


def test_a_number_declared_by_b_and_held_by_a_moves_from_a_to_b():
    plan = make_fleet_plan(
        inputs(
            ("a", state(want(N0)), snapshot(row(N0), row(N1, A2))),
            ("b", state(want(N1, A1)), snapshot()),
        )
    )
    plans = by_name(plan)
    assert [(m.normalized, m.source, m.dest) for m in plan.moves] == [(N1, "a", "b")]
    delete = plans["a"].changes[0]
    assert (delete.action, delete.inbound_id, delete.source) == ("delete", f"id-{N1}", None)
    assert plans["a"].unmanaged == ()  # it leaves a; it is no longer left alone
    assert plans["a"].summary.delete == 1
    assert [(c.action, c.normalized) for c in plans["b"].changes] == [("assign", N1)]


def test_a_number_that_a_declares_absent_keeps_its_delete_and_source():
    plan = make_fleet_plan(
        inputs(
            ("a", state(want(N1, ensure="absent")), snapshot(row(N1))),
            ("b", state(want(N1)), snapshot()),
        )
    )
    (delete,) = by_name(plan)["a"].changes
    assert delete.source == "inbound.yaml:241"
    assert len(plan.moves) == 1


def test_a_detach_that_unmanaged_detach_plans_becomes_the_delete_of_the_move():
    plan = make_fleet_plan(
        inputs(
            ("a", state(unmanaged="detach"), snapshot(row(N1))),
            ("b", state(want(N1)), snapshot()),
        )
    )
    assert [c.action for c in by_name(plan)["a"].changes] == ["delete"]


def test_the_delete_of_a_move_counts_against_the_guards_of_its_target():
    plan = make_fleet_plan(
        inputs(
            ("a", state(max_destructive=0), snapshot(row(N1))),
            ("b", state(want(N1), max_destructive=0), snapshot()),
        )
    )
    assert [t.name for t in plan.refused()] == ["a"]
    assert "1 destructive changes" in by_name(plan)["a"].refusals[0]


def test_targets_on_different_systems_never_move_numbers():
    plan = make_fleet_plan(
        inputs(
            ("a", state(), snapshot(row(N1))),
            ("b", state(want(N1)), snapshot(), EU),
        )
    )
    assert plan.moves == ()
    assert by_name(plan)["a"].changes == ()


def test_no_move_takes_a_number_its_holder_still_declares():
    plan = make_fleet_plan(
        inputs(
            ("a", state(want(N1)), snapshot(row(N1))),
            ("b", state(want(N1)), snapshot()),
        )
    )
    assert plan.moves == ()
    assert by_name(plan)["a"].changes == ()


def test_a_target_that_cannot_be_planned_is_reported_and_the_others_planned():
    plan = make_fleet_plan(
        inputs(
            ("a", state(want(N0, None)), snapshot()),
            ("b", state(want(N1)), snapshot()),
        )
    )
    assert [f.name for f in plan.failures] == ["a"]
    assert "cannot be created without an assistant" in plan.failures[0].message
    assert [t.name for t in plan.targets] == ["b"]


def test_the_document_links_the_two_changes_of_a_move_and_validates():
    plan = make_fleet_plan(
        inputs(
            ("b", state(want(N1)), snapshot()),
            ("a", state(), snapshot(row(N1))),
        )
    )
    document = json.loads(dumps(fleet_document(plan)))
    jsonschema.validate(document, SCHEMA)
    (move,) = document["moves"]
    assert move == {
        "id": f"move:a:b:{N1}",
        "number": "+91 80 4431 9241",
        "normalized": N1,
        "from": "a",
        "to": "b",
    }
    assert document["targets"]["a"]["changes"][0]["move"] == move["id"]
    assert document["targets"]["b"]["changes"][0]["move"] == move["id"]
    assert document["summary"]["moves"] == 1
    assert document["summary"]["targets"] == 2
    assert "format_version" not in document["targets"]["a"]


def test_the_schema_still_refuses_a_single_account_document_with_a_stray_key():
    desired = state(want(N1))
    document = plan_document(make_plan(desired, snapshot(), Policy()), desired, Policy(), "u")
    jsonschema.validate(document, SCHEMA)
    document["targets"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


# -- properties ----------------------------------------------------------------------------

NUMBERS = [f"9180443192{i:02d}" for i in range(8)]
NAMES = ("a", "b", "c")


@st.composite
def fleets(draw):
    """Three targets of one system: each number held by at most one account, and declared
    present by at most one target (what validation guarantees)."""
    holder = {n: draw(st.sampled_from([None, *NAMES])) for n in NUMBERS}
    claimant = {n: draw(st.sampled_from([None, *NAMES])) for n in NUMBERS}
    items = []
    for name in NAMES:
        declared = [
            want(n, draw(st.sampled_from([A1, A2]))) for n in NUMBERS if claimant[n] == name
        ]
        declared += [
            want(n, ensure="absent")
            for n in NUMBERS
            if claimant[n] != name and holder[n] == name and draw(st.booleans())
        ]
        policy = draw(st.sampled_from(["ignore", "detach", "delete"]))
        rows = [row(n, draw(st.sampled_from([A1, A2, None]))) for n in NUMBERS if holder[n] == name]
        items.append(
            (name, state(*declared, unmanaged=policy, max_destructive=100), snapshot(*rows))
        )
    return inputs(*items)


def apply_fleet_in_memory(plan: FleetPlan, accounts: dict[str, Snapshot]) -> dict[str, Snapshot]:
    """Every move's delete, then each target's plan; fails on an assign another account holds."""
    moving = {(m.source, m.normalized) for m in plan.moves}
    after = dict(accounts)
    for phase in ("moves", "rest"):
        for target in plan.targets:
            changes = tuple(
                c
                for c in target.plan.changes
                if ((target.name, c.normalized) in moving and c.action == "delete")
                == (phase == "moves")
            )
            for change in changes:
                if change.action == "assign":
                    held = {r.normalized for s in after.values() for r in s.rows}
                    assert change.normalized not in held, "assign of a number still held: 409"
            after[target.name] = apply_in_memory(
                target.plan._replace(changes=changes), after[target.name]
            )
    return after


@settings(max_examples=300, deadline=None)
@given(fleets())
def test_a_fleet_apply_in_move_order_never_conflicts_and_converges(items):
    plan = make_fleet_plan(i._replace(policy=Policy(i.desired.safety, True)) for i in items)
    assert plan.failures == ()
    accounts = {i.target.name: i.snapshot for i in items}
    after = apply_fleet_in_memory(plan, accounts)
    again = make_fleet_plan(
        i._replace(snapshot=after[i.target.name], policy=Policy(i.desired.safety, True))
        for i in items
    )
    assert again.changes == 0
    assert again.moves == ()


@settings(max_examples=100, deadline=None)
@given(fleets(), st.permutations(range(3)))
def test_the_fleet_plan_does_not_depend_on_the_order_of_its_targets(items, order):
    first = dumps(fleet_document(make_fleet_plan(items)))
    assert dumps(fleet_document(make_fleet_plan([items[i] for i in order]))) == first
