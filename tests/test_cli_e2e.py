"""The commands end to end, over a real loopback socket to the sandbox, as CI would run them."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from sandbox_fixtures import ACME, SALES, SEED_PATH, SUPPORT, controller

KEY = ACME

CONFIG = f"""\
version: 1
assistants:
  support: {SUPPORT}
  sales: {SALES}
strategies:
  crm: f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
    strategy: crm
  - number: "080 4431 9241"
    assistant: sales
"""


@pytest.fixture(scope="module")
def server():
    app = create_app(seed=SEED_PATH)
    with running_server(app) as url:
        yield app, url
    controller(app).close()


@pytest.fixture
def sandbox(server, monkeypatch):
    app, url = server
    controller(app).reset()
    monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", KEY)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return controller(app)


@pytest.fixture
def cfg(write_yaml):
    return str(write_yaml("inbound.yaml", CONFIG))


def test_plan_then_apply_then_drift_is_clean(sandbox, run_cli, cfg):
    plan = run_cli("plan", cfg, "--detailed-exitcode")
    assert plan.code == 2
    assert "Plan: 2 to assign" in plan.out
    applied = run_cli("apply", cfg, "--auto-approve")
    assert applied.code == 0, applied.err
    assert "Converged" in applied.out
    assert run_cli("drift", cfg).code == 0
    assert run_cli("plan", cfg, "--detailed-exitcode").code == 0


def test_plan_without_detailed_exitcode_exits_0_with_changes(sandbox, run_cli, cfg):
    assert run_cli("plan", cfg).code == 0


def test_apply_without_a_terminal_or_approval_refuses_and_writes_nothing(sandbox, run_cli, cfg):
    result = run_cli("apply", cfg)
    assert result.code == 1
    assert "pass --auto-approve" in result.err
    assert sandbox.stats()["writes"] == 0


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "writes"), [("yes\n", 0, 2), ("y\n", 1, 0)])
def test_apply_on_a_terminal_asks_for_a_typed_yes(
    sandbox, run_cli, cfg, monkeypatch, answer, code, writes
):
    monkeypatch.setattr("sys.stdin", _Tty(answer))
    result = run_cli("apply", cfg)
    assert result.code == code
    assert sandbox.stats()["writes"] == writes


def test_saved_plan_applies_once_and_is_stale_after_the_account_changes(
    sandbox, run_cli, cfg, tmp_path
):
    saved = str(tmp_path / "plan.json")
    assert run_cli("plan", cfg, "--out", saved).code == 0
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert KEY not in Path(saved).read_text()
    assert run_cli("apply", "--plan", saved).code == 0
    stale = run_cli("apply", "--plan", saved)
    assert stale.code == 4
    assert "the account changed since" in stale.err
    assert sandbox.stats()["writes"] == 2


def test_a_stale_plan_names_each_number_whose_change_differs(sandbox, run_cli, cfg, tmp_path):
    saved = str(tmp_path / "plan.json")
    run_cli("plan", cfg, "--out", saved)
    run_cli("apply", cfg, "--auto-approve")  # someone else applied in between
    stale = run_cli("apply", "--plan", saved)
    assert stale.code == 4
    assert stale.err.splitlines()[1:3] == [
        f"  +91 80 4431 9240: saved assign (no mapping -> assistant {SUPPORT}, strategy "
        "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de); now no change",
        f"  +91 80 4431 9241: saved assign (no mapping -> assistant {SALES}, strategy none); "
        "now no change",
    ]


def test_stale_plan_writes_nothing(sandbox, run_cli, cfg, tmp_path):
    saved = str(tmp_path / "plan.json")
    run_cli("plan", cfg, "--out", saved)
    run_cli("apply", cfg, "--auto-approve")  # someone else applied in between
    before = sandbox.stats()["writes"]
    assert run_cli("apply", "--plan", saved).code == 4
    assert sandbox.stats()["writes"] == before


def test_refused_plan_exits_3_and_is_not_saved(sandbox, run_cli, cfg, write_yaml, tmp_path):
    run_cli("apply", cfg, "--auto-approve")
    gone = write_yaml("gone.yaml", "version: 1\nunmanaged: delete\nsafety: {max_destructive: 1}\n")
    saved = tmp_path / "refused.json"
    result = run_cli("plan", str(gone), "--out", str(saved))
    assert result.code == 3
    assert "Plan: 0 to assign, 0 to update, 0 to detach, 2 to delete" in result.out
    assert "exceed safety.max_destructive = 1" in result.err
    assert not saved.exists()
    assert run_cli("apply", str(gone), "--auto-approve").code == 3
    assert run_cli("apply", str(gone), "--auto-approve", "--allow-destructive").code == 0


def test_drift_reports_an_out_of_band_change_with_exit_2(sandbox, run_cli, cfg):
    run_cli("apply", cfg, "--auto-approve")
    [row] = [m for m in sandbox.all_mappings() if m.phone_number_normalized == "918044319241"]
    sandbox.change_mapping(row.inbound_id, {"assistant_id": SUPPORT})
    result = run_cli("drift", cfg)
    assert result.code == 2
    assert (
        "changed out of band: account has assistant support, git has assistant sales" in result.out
    )
    as_json = json.loads(run_cli("drift", cfg, "--format", "json").out)
    assert as_json["in_sync"] is False
    assert [d["normalized"] for d in as_json["drift"]] == ["918044319241"]


def test_github_format_annotates_and_writes_the_step_summary(
    sandbox, run_cli, cfg, tmp_path, monkeypatch
):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("CI", "true")
    result = run_cli("plan", cfg, "--format", "github")
    assert (
        f"::notice file={cfg},line=8,title=inbound-sync plan::assign +91 80 4431 9240" in result.out
    )
    assert "| 🟢 | assign | +91 80 4431 9240 |" in summary.read_text()


def test_json_plan_is_stable_and_keyless(sandbox, run_cli, cfg):
    first = run_cli("plan", cfg, "--format", "json").out
    assert first == run_cli("plan", cfg, "--format", "json").out
    assert json.loads(first)["summary"]["assign"] == 2
    assert KEY not in first


def test_apply_writes_a_keyless_owner_only_log_and_an_undo_plan(sandbox, run_cli, cfg, tmp_path):
    log, undo = tmp_path / "audit.jsonl", tmp_path / "undo.json"
    result = run_cli(
        "apply", cfg, "--auto-approve", "--log-file", str(log), "--undo-out", str(undo)
    )
    assert result.code == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["action"], e["method"]) for e in entries] == [
        ("list", "GET"),
        ("assign", "POST"),
        ("assign", "POST"),
        ("list", "GET"),
        ("summary", None),
    ]
    assert {k: entries[-1][k] for k in ("done", "failed", "skipped", "rate_limited", "paused")} == {
        "done": 2,
        "failed": 0,
        "skipped": 0,
        "rate_limited": 0,
        "paused": 0.0,
    }
    assert {e["number"] for e in entries if e["action"] == "assign"} == {
        "+918044319240",
        "+918044319241",
    }
    # Each assign records the id of the mapping it made, as the API returned it.
    made = {m.phone_number_normalized: m.inbound_id for m in sandbox.all_mappings() if m.active}
    assert {e["number"]: e["inbound_id"] for e in entries if e["action"] == "assign"} == {
        "+918044319240": made["918044319240"],
        "+918044319241": made["918044319241"],
    }
    assert [e["inbound_id"] for e in entries if e["action"] == "list"] == [None, None]
    for path in (log, undo):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert KEY not in path.read_text()
    restored = run_cli("apply", "--plan", str(undo))
    assert restored.code == 0, restored.err
    assert [m for m in sandbox.all_mappings() if m.active and m.tenant == "acme"] == []


def test_import_round_trips_to_zero_changes(sandbox, run_cli, cfg, tmp_path):
    run_cli("apply", cfg, "--auto-approve")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--out", str(out)).code == 0
    assert "assistant: support-assistant" in out.read_text()
    assert run_cli("validate", str(out)).code == 0
    assert run_cli("plan", str(out), "--detailed-exitcode").code == 0
    assert run_cli("import", "--out", str(out)).code == 1  # never overwrites


def test_list_shows_names_and_json(sandbox, run_cli, cfg):
    run_cli("apply", cfg, "--auto-approve")
    table = run_cli("list")
    assert "+91 80 4431 9240  Support Assistant  CRM lookup" in table.out
    rows = json.loads(run_cli("list", "--format", "json").out)
    assert [r["normalized"] for r in rows] == ["918044319240", "918044319241"]


def test_missing_key_is_a_clear_error(sandbox, run_cli, cfg, monkeypatch):
    monkeypatch.delenv("INBOUND_SYNC_API_KEY")
    result = run_cli("plan", cfg)
    assert result.code == 1
    assert "INBOUND_SYNC_API_KEY" in result.err
    assert "Traceback" not in result.err


def test_wrong_key_says_it_was_refused(sandbox, run_cli, cfg, monkeypatch):
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", "nope-not-a-key")
    result = run_cli("plan", cfg)
    assert result.code == 1
    assert "refused" in result.err
    assert "nope-not-a-key" not in result.err + result.out


def test_plain_http_to_a_remote_host_is_refused(sandbox, run_cli, cfg):
    result = run_cli("plan", cfg, "--api-url", "http://api.example.com")
    assert result.code == 1
    assert "--allow-insecure-http" in result.err


def test_config_errors_are_reported_before_any_write(sandbox, run_cli, write_yaml):
    bad = write_yaml(
        "bad.yaml", "version: 1\nnumbers:\n  - number: '+91 80 4431 9240'\n    assistant: nobody\n"
    )
    result = run_cli("apply", str(bad), "--auto-approve")
    assert result.code == 1
    assert f"{bad}:4: numbers[0].assistant: unknown assistant alias 'nobody'" in result.err
    # The account may have been read while the config was parsed; nothing else was sent.
    assert set(sandbox.stats()["requests"]) <= {"GET /inbound/list"}


def test_a_strategy_deleted_in_the_account_is_named_by_alias_id_and_line(sandbox, run_cli, cfg):
    assert run_cli("apply", cfg, "--auto-approve").code == 0
    assert sandbox.delete_strategy("f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de") == 1

    drift = run_cli("drift", cfg)
    assert drift.code == 2
    applied = run_cli("apply", cfg, "--auto-approve")
    assert applied.code == 1
    assert (
        "Inbound context strategy not found: strategy 'crm' "
        f"(f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de), referenced at {cfg}:8 no longer exists in "
        "the account, or never did"
    ) in applied.out


def test_the_undo_plan_file_carries_its_warnings_and_says_it_is_an_undo(
    sandbox, run_cli, write_yaml, tmp_path
):
    parked = str(
        write_yaml(
            "parked.yaml",
            'version: 1\nnumbers:\n  - number: "+918044319260"\n    assistant: null\n',
        )
    )
    sandbox_number = "+918044319260"
    # Park a number (assigned, then detached), then release it; its undo cannot re-create it.
    seeded = str(
        write_yaml(
            "assigned.yaml",
            f'version: 1\nnumbers:\n  - number: "{sandbox_number}"\n    assistant: {SUPPORT}\n',
        )
    )
    assert run_cli("apply", seeded, "--auto-approve").code == 0
    assert run_cli("apply", parked, "--auto-approve").code == 0
    gone = str(
        write_yaml(
            "gone.yaml",
            f'version: 1\nnumbers:\n  - number: "{sandbox_number}"\n    ensure: absent\n',
        )
    )
    undo = tmp_path / "undo.json"
    result = run_cli("apply", gone, "--auto-approve", "--undo-out", str(undo))
    assert result.code == 0, result.err

    document = json.loads(undo.read_text())
    assert document["warnings"] == [
        "+91 80 4431 9260 was detached before it was deleted; it cannot be re-created without "
        "an assistant, so the undo plan leaves it out"
    ]
    assert document["desired"]["purpose"] == "undo"
    assert "purpose" not in json.loads(run_cli("plan", gone, "--format", "json").out)["desired"]
