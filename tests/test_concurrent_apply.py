"""Two applies against one account at once, and changes made by hand while an apply runs.

The API has no versions or locks, so two applies can interleave; what the tool guarantees, and
these tests check, is that no mix is ever reported as success:

- each apply verifies with a fresh list taken after all of its own writes finished; so the apply
  that verifies last sees the final account, and it reports success exactly when that account
  satisfies its desired state. If the final account satisfies neither desired state (a mix), the
  last word is a failure, with the conflict or missing mapping named; an apply that verified
  earlier and reported success saw its own desired state whole at that moment;
- a saved plan made before another apply changed the account is refused as stale (exit 4);
- a change made out of band while an apply is in flight makes the apply report "not converged"
  (exit 1), never success.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from e2e_support import client_for, converge, plan_and_apply
from inbound_sync import config
from inbound_sync.apply import ApplyReport
from inbound_sync.config import DesiredState
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from planning import A1, A2, S1, state, want
from reliability_support import (
    ACME_KEY,
    POOL,
    Scripted,
    account,
    bindings,
    controller,
    duplicate_numbers,
    random_desired,
    run_main,
    satisfies,
    seed_with_key,
    show,
)
from sandbox_fixtures import sandbox_app

PAIRS = 40
SEED = 7
N1, N2, N3 = "918044319240", "918044319241", "918044319242"


async def race(
    app, first: DesiredState, second: DesiredState, rng: random.Random
) -> list[ApplyReport]:
    async def one(desired: DesiredState) -> ApplyReport:
        async with client_for(app) as client:
            _plan, report = await plan_and_apply(client, desired, concurrency=rng.randint(1, 4))
            return report

    return list(await asyncio.gather(one(first), one(second)))


def failure_kind(message: str) -> str:
    for kind in ("conflict", "no longer exists", "not found"):
        if kind in message.lower():
            return kind
    return message


def test_two_applies_at_once_never_report_a_mix_as_success(capsys):
    rng = random.Random(SEED)
    seen = Counter[str]()
    with sandbox_app(seed=seed_with_key()) as app:
        sandbox = controller(app)
        for pair in range(PAIRS):
            sandbox.reset()
            sandbox.clear_faults()
            start = random_desired(rng, account(sandbox), POOL[:6])
            assert asyncio.run(race(app, start, start, rng))  # some start state; may race itself
            current = account(sandbox)
            desired = [random_desired(rng, current, POOL[:6]) for _ in range(2)]
            # Yield at random inside the server, so that the two applies interleave differently.
            sandbox.add_fault(
                {
                    "random": {
                        "seed": pair,
                        "rate": 0.5,
                        "kinds": [{"kind": "slow", "delay_ms": 0}],
                        "match": "all",
                    }
                }
            )
            reports = asyncio.run(race(app, desired[0], desired[1], rng))
            sandbox.clear_faults()

            final = account(sandbox)
            assert duplicate_numbers(sandbox) == []
            last_word = [
                (d, r)
                for d, r in zip(desired, reports, strict=True)
                if r.final is not None and bindings(r.final) == bindings(final)
            ]
            assert last_word, "the apply that verified last saw the final account"
            for d, r in zip(desired, reports, strict=True):
                assert not r.ok or satisfies(d, r.final), "success was reported for what it saw"
            for d, r in last_word:
                assert r.ok == (satisfies(d, final) and all(o.status == "done" for o in r.outcomes))
                assert r.converged == satisfies(d, final)
            satisfied = [satisfies(d, final) for d in desired]
            if not any(satisfied):
                seen["a mix: the last word reported failure"] += 1
                assert not any(r.ok for _d, r in last_word)
            elif all(satisfied):
                seen["both desired states hold (they agree)"] += 1
            else:
                seen["one desired state won"] += 1
            seen["applies reporting success"] += sum(r.ok for r in reports)
            # What no client can prevent without locks in the API: an apply verified its own state,
            # then the other one changed the account. The later report tells the final truth.
            seen["success verified, then changed by the other apply"] += sum(
                r.ok and not satisfies(d, final) for d, r in zip(desired, reports, strict=True)
            )
            for r in reports:
                for o in r.outcomes:
                    if o.status == "failed":
                        seen[f"failed change: {failure_kind(o.message)}"] += 1
    show(
        capsys,
        f"Concurrent applies: {PAIRS} pairs of random desired states",
        dict(sorted(seen.items())),
    )
    assert seen["a mix: the last word reported failure"] > 0
    assert seen["one desired state won"] > 0


# -- saved plans -------------------------------------------------------------------------------

CONFIG_A = f"""\
version: 1
assistants: {{support: {A1}, sales: {A2}}}
strategies: {{crm: {S1}}}
numbers:
  - {{number: "+91 80 4431 9240", assistant: support, strategy: crm}}
  - {{number: "+91 80 4431 9241", assistant: support}}
  - {{number: "+91 80 4431 9242", assistant: sales}}
"""
CONFIG_B = f"""\
version: 1
assistants: {{support: {A1}, sales: {A2}}}
numbers:
  - {{number: "+91 80 4431 9240", assistant: sales}}
  - {{number: "+91 80 4431 9241", assistant: sales}}
  - {{number: "+91 80 4431 9243", assistant: support}}
"""


@pytest.fixture
def served_scripted(monkeypatch, tmp_path):
    app = create_app(seed=seed_with_key())
    scripted = Scripted(app)
    (tmp_path / "a.yaml").write_text(CONFIG_A, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(CONFIG_B, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with running_server(scripted) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        yield controller(app), scripted, url, tmp_path
    controller(app).close()


@pytest.mark.socket
def test_a_plan_saved_before_another_apply_is_stale_and_writes_nothing(served_scripted):
    sandbox, _scripted, _url, root = served_scripted
    a_plan, b_plan = str(root / "a.json"), str(root / "b.json")
    assert run_main("plan", str(root / "a.yaml"), "--out", a_plan).code == 0
    assert run_main("plan", str(root / "b.yaml"), "--out", b_plan).code == 0
    assert run_main("apply", "--plan", a_plan).code == 0
    writes = sandbox.stats()["writes"]
    stale = run_main("apply", "--plan", b_plan)
    assert stale.code == 4
    assert f"the account changed since {b_plan} was made; plan again" in stale.err
    assert sandbox.stats()["writes"] == writes
    desired_a = json.loads(Path(a_plan).read_text())["desired"]
    assert {n["normalized"] for n in desired_a["numbers"]} == {
        r.normalized for r in account(sandbox).rows
    }


@pytest.mark.socket
def test_two_processes_applying_different_configs_at_once_never_both_claim_a_mix(served_scripted):
    sandbox, _scripted, url, root = served_scripted
    sandbox.set_latency(40)
    env = {
        **os.environ,
        "INBOUND_SYNC_API_URL": url,
        "INBOUND_SYNC_API_KEY": ACME_KEY,
        "NO_COLOR": "1",
    }
    outcomes = Counter[str]()
    for concurrency in ("1", "4"):
        sandbox.reset()
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "inbound_sync",
                    "apply",
                    str(root / name),
                    "--auto-approve",
                    "--format",
                    "json",
                    "--concurrency",
                    concurrency,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for name in ("a.yaml", "b.yaml")
        ]
        results = [(p.wait(timeout=60), *p.communicate(timeout=60)) for p in runs]
        final = account(sandbox)
        desired = [config.load([str(root / name)]) for name in ("a.yaml", "b.yaml")]
        codes = [code for code, _out, _err in results]
        for code, out, err in results:
            assert code in (0, 1), err
            assert "Traceback" not in err
            report = json.loads(out)
            assert (code == 0) == (report["converged"] and report["summary"]["failed"] == 0)
        assert duplicate_numbers(sandbox) == []
        if not any(satisfies(d, final) for d in desired):
            outcomes["a mix, reported as failure"] += 1
            assert 1 in codes
        else:
            outcomes["one config won"] += 1
    sandbox.set_latency(0)
    assert sum(outcomes.values()) == 2


# -- out-of-band changes during an apply -----------------------------------------------------------


def apply_with_change_at_write(sandbox, scripted, desired, write: int, change) -> ApplyReport:
    """Apply `desired` one change at a time; make `change` by hand when write number `write` arrives."""
    scripted.on_write(write, change)

    async def scenario() -> ApplyReport:
        async with client_for(scripted) as client:
            _plan, report = await plan_and_apply(client, desired, concurrency=1)
            return report

    return asyncio.run(scenario())


def mapping_id(sandbox, number: str) -> str:
    [row] = [r for r in account(sandbox).rows if r.normalized == number]
    return row.inbound_id


@pytest.fixture
def scripted_app():
    with sandbox_app(seed=seed_with_key()) as app:
        scripted = Scripted(app)
        converge(app, state(want(N1, A1, S1), want(N2, A1), want(N3, A1)))
        yield controller(app), scripted


def test_a_number_changed_by_hand_during_apply_is_reported_not_converged(scripted_app):
    sandbox, scripted = scripted_app
    desired = state(want(N1, A2, S1), want(N2, A2), want(N3, A1))  # N3 unchanged by the plan
    n3 = mapping_id(sandbox, N3)
    report = apply_with_change_at_write(
        sandbox, scripted, desired, 1, lambda: sandbox.change_mapping(n3, {"assistant_id": A2})
    )
    assert [o.status for o in report.outcomes] == ["done", "done"]
    assert not report.converged
    assert not report.ok
    assert [(c.action, c.normalized) for c in report.remaining.changes] == [("update", N3)]


def test_a_change_already_done_then_undone_by_hand_is_reported_not_converged(scripted_app):
    sandbox, scripted = scripted_app
    desired = state(want(N1, A2, S1), want(N2, A2), want(N3, A1))
    n1 = mapping_id(sandbox, N1)
    # N1's update is the first write; by the second, it is done, and someone puts it back.
    report = apply_with_change_at_write(
        sandbox, scripted, desired, 2, lambda: sandbox.change_mapping(n1, {"assistant_id": A1})
    )
    assert [o.status for o in report.outcomes] == ["done", "done"]
    assert not report.ok
    assert [(c.action, c.normalized) for c in report.remaining.changes] == [("update", N1)]


def test_another_field_of_the_number_being_written_changed_by_hand_is_not_overwritten(scripted_app):
    sandbox, scripted = scripted_app
    desired = state(want(N1, A2, S1), want(N2, A1), want(N3, A1))  # only N1's assistant changes
    n1 = mapping_id(sandbox, N1)
    report = apply_with_change_at_write(
        sandbox,
        scripted,
        desired,
        1,
        lambda: sandbox.change_mapping(n1, {"inbound_context_strategy_id": None}),
    )
    assert bindings(account(sandbox))[N1] == (A2, None)  # the PATCH sent the assistant only
    assert not report.ok
    assert [(c.action, c.normalized) for c in report.remaining.changes] == [("update", N1)]


def test_a_mapping_deleted_by_hand_during_apply_fails_clearly(scripted_app):
    sandbox, scripted = scripted_app
    desired = state(want(N1, A2, S1), want(N2, A2), want(N3, A1))
    n2 = mapping_id(sandbox, N2)
    report = apply_with_change_at_write(
        sandbox, scripted, desired, 1, lambda: sandbox.store.delete("acme", n2)
    )
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert [o.change.normalized for o in failed] == [N2]
    assert "the mapping no longer exists" in failed[0].message
    assert not report.ok
    assert [(c.action, c.normalized) for c in report.remaining.changes] == [("assign", N2)]


@pytest.mark.socket
def test_the_cli_exits_1_when_the_account_changes_during_apply(served_scripted):
    sandbox, scripted, _url, root = served_scripted
    assert run_main("apply", str(root / "a.yaml"), "--auto-approve").code == 0
    n1 = mapping_id(sandbox, N1)
    # N1's update is the first write; when the second arrives, someone puts N1 back by hand.
    scripted.on_write(2, lambda: sandbox.change_mapping(n1, {"assistant_id": A1}))
    result = run_main("apply", str(root / "b.yaml"), "--auto-approve", "--concurrency", "1")
    assert result.code == 1
    assert "Not converged: 1 change(s) remain." in result.out
    assert "update +91 80 4431 9240" in result.out
    again = run_main("apply", str(root / "b.yaml"), "--auto-approve")
    assert again.code == 0
    assert "Converged" in again.out


def test_a_detached_number_deleted_by_hand_during_apply_is_reported_unverifiable(scripted_app):
    sandbox, scripted = scripted_app
    desired = state(want(N1, None), want(N2, A2), want(N3, A1))  # keep N1, detached
    n1 = mapping_id(sandbox, N1)
    report = apply_with_change_at_write(
        sandbox, scripted, desired, 1, lambda: sandbox.store.delete("acme", n1)
    )
    # The account can no longer reach the desired state (assign needs an assistant): the report
    # says so, with every outcome, instead of the apply failing with no report at all.
    assert [(o.change.normalized, o.status) for o in report.outcomes] == [
        (N1, "failed"),
        (N2, "done"),
    ]
    assert report.final is not None
    assert report.unverified is not None
    assert "cannot be created without an assistant" in report.unverified
    assert not report.converged
