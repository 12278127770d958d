"""Outside a git work tree, `plan` shows no provenance and so asks for none; `drift` still does."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from inbound_sync.plan import Plan, Policy, Snapshot, make_plan
from inbound_sync.provenance import collect
from inbound_sync.provenance.model import NO_GIT
from planning import A1, A2, row, snapshot, state, want

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)


def _changed(tmp_path: Path) -> tuple[Plan, Snapshot, str]:
    config = tmp_path / "inbound.yaml"  # tmp_path is in no work tree
    config.write_text("version: 1\n")
    desired = state(want("918044319240", A2))
    account = snapshot(row("918044319240", A1))
    plan = make_plan(desired, account, Policy(desired.safety, False))
    assert len(plan.changes) == 1
    return plan, account, str(config)


def test_a_plan_outside_git_collects_nothing(tmp_path: Path) -> None:
    plan, account, config = _changed(tmp_path)
    found = collect(plan, account.rows, [config], NOW, outside_git=False)
    assert (found.by_number, found.in_git) == ({}, False)


def test_drift_outside_git_still_shows_the_account_side(tmp_path: Path) -> None:
    plan, account, config = _changed(tmp_path)
    found = collect(plan, account.rows, [config], NOW)
    assert not found.in_git
    assert str(NO_GIT) in repr(found.get("918044319240"))
