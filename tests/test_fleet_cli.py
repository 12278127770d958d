"""`plan --fleet` and `drift --fleet` over a loopback socket, against one sandbox of three tenants."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema
import pytest

from fleet_support import FLEET_KEYS, FLEET_SEED, MOVED, copy_example
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from sandbox_fixtures import controller

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())


@pytest.fixture(scope="module")
def server():
    app = create_app(seed=FLEET_SEED)
    with running_server(app) as url:
        yield app, url
    controller(app).close()


@pytest.fixture
def sandbox(server, monkeypatch):
    app, _ = server
    controller(app).reset()
    for name, value in FLEET_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return controller(app)


@pytest.fixture
def fleet(server, sandbox, tmp_path):
    _, url = server
    return str(copy_example(tmp_path, url))


def test_plan_shows_each_target_the_move_and_the_fleet_summary(fleet, run_cli):
    result = run_cli("plan", "--fleet", fleet, "--detailed-exitcode")
    assert result.code == 2, result.err
    out = result.out
    assert "move +91 80 4431 9242 from brand-a to brand-b" in out
    assert out.index("Target brand-a") < out.index("Target brand-b") < out.index("Target staging")
    assert "- delete  +91 80 4431 9242   assistant support → released  (move to brand-b)" in out
    assert "Fleet: 3 targets, 3 with changes, 1 move." in out
    assert "  total    4 to assign, 0 to update, 0 to detach, 1 to delete; 1 unchanged" in out


def test_the_json_plan_has_a_targets_level_and_validates(fleet, run_cli):
    result = run_cli("plan", "--fleet", fleet, "--format", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    assert document["format_version"] == 2
    assert sorted(document["targets"]) == ["brand-a", "brand-b", "staging"]
    (move,) = document["moves"]
    linked = [
        (name, change["action"])
        for name, target in document["targets"].items()
        for change in target["changes"]
        if change.get("move") == move["id"]
    ]
    assert linked == [("brand-a", "delete"), ("brand-b", "assign")]


def test_the_same_inputs_give_the_same_document(fleet, run_cli):
    first = run_cli("plan", "--fleet", fleet, "--format", "json").out
    assert run_cli("plan", "--fleet", fleet, "--format", "json").out == first


def test_target_restricts_the_run_and_only_its_keys_are_needed(fleet, run_cli, monkeypatch):
    monkeypatch.delenv("INBOUND_SYNC_KEY_BRAND_A")
    result = run_cli("plan", "--fleet", fleet, "--target", "staging", "--format", "json")
    assert result.code == 0, result.err
    assert list(json.loads(result.out)["targets"]) == ["staging"]


def test_an_unset_key_names_the_target_and_variable_before_any_request(
    fleet, run_cli, sandbox, monkeypatch
):
    monkeypatch.delenv("INBOUND_SYNC_KEY_BRAND_B")
    result = run_cli("plan", "--fleet", fleet)
    assert result.code == 1
    assert "target brand-b: the key variable INBOUND_SYNC_KEY_BRAND_B is not set" in result.err
    assert sandbox.stats()["requests"] == {}


def test_one_target_down_is_reported_and_the_others_still_shown(fleet, run_cli, monkeypatch):
    monkeypatch.setenv("INBOUND_SYNC_KEY_STAGING", "a-key-the-sandbox-does-not-know")
    out = Path(fleet).parent / "plan.json"
    result = run_cli("plan", "--fleet", fleet, "--out", str(out))
    assert result.code == 1
    assert "Target brand-b" in result.out
    assert "failed: could not read the account: list the account failed (HTTP 401)" in result.out
    assert "1 target could not be planned: staging" in result.err
    assert f"{out} was not written" in result.err
    assert not out.exists()
    assert "a-key-the-sandbox" not in result.out + result.err


def test_a_target_refused_by_its_guards_exits_3_naming_it(fleet, run_cli):
    path = Path(fleet).parent / "brand-a" / "inbound.yaml"
    path.write_text(path.read_text() + "safety:\n  max_destructive: 0\n")
    result = run_cli("plan", "--fleet", fleet)
    assert result.code == 3
    assert "the plan of brand-a was refused by the safety guards" in result.err
    assert "  brand-a:\n    - 1 destructive changes" in result.err


def test_a_saved_fleet_plan_is_written_and_names_the_apply_command(fleet, run_cli):
    out = Path(fleet).parent / "plan.json"
    result = run_cli("plan", "--fleet", fleet, "--out", str(out))
    assert result.code == 0, result.err
    assert f"inbound-sync apply --fleet {fleet} --plan {out}" in result.err
    assert json.loads(out.read_text())["format_version"] == 2
    assert os.stat(out).st_mode & 0o077 == 0


def test_drift_reports_per_target_and_exits_2(fleet, run_cli):
    result = run_cli("drift", "--fleet", fleet, "--format", "json")
    assert result.code == 2
    document = json.loads(result.out)
    assert document["in_sync"] is False
    reasons = {
        (name, item["normalized"]): item.get("move")
        for name, target in document["targets"].items()
        for item in target["drift"]
    }
    assert reasons[("brand-a", MOVED)] == reasons[("brand-b", MOVED)] == document["moves"][0]["id"]


@pytest.mark.parametrize("fmt", ["markdown", "github", "text"])
def test_every_format_names_every_target(fleet, run_cli, fmt):
    for command in ("plan", "drift"):
        result = run_cli(command, "--fleet", fleet, "--format", fmt)
        assert result.code in (0, 2), result.err
        for name in ("brand-a", "brand-b", "staging"):
            assert name in result.out


def test_list_shows_every_target(fleet, run_cli):
    result = run_cli("list", "--fleet", fleet)
    assert result.code == 0, result.err
    assert result.out.startswith("Target brand-a (")
    assert "  +91 80 4431 9242  Brand A Support" in result.out
    assert "Target staging (" in result.out
    document = json.loads(run_cli("list", "--fleet", fleet, "--format", "json").out)
    assert sorted(document) == ["brand-a", "brand-b", "staging"]
    assert [m["normalized"] for m in document["brand-a"]] == ["918044319240", MOVED]
    assert document["staging"] == []


def test_list_names_a_target_it_cannot_read(fleet, run_cli, monkeypatch):
    monkeypatch.setenv("INBOUND_SYNC_KEY_BRAND_B", "unknown")
    result = run_cli("list", "--fleet", fleet)
    assert result.code == 1
    assert (
        "some accounts could not be read:\n  brand-b: list the account failed (HTTP 401)"
        in result.err
    )
    assert result.out == ""


def test_import_writes_each_target_where_the_fleet_file_points(
    server, sandbox, tmp_path, run_cli, monkeypatch
):
    _, url = server
    monkeypatch.chdir(tmp_path)
    fleet = copy_example(tmp_path, url)
    for name in ("brand-a", "brand-b", "staging"):
        (tmp_path / name / "inbound.yaml").unlink()
    result = run_cli("import", "--fleet", str(fleet))
    assert result.code == 0, result.err
    assert f"Wrote 2 mappings of brand-a to {tmp_path / 'brand-a' / 'inbound.yaml'}" in result.err
    assert (tmp_path / "staging" / "inbound.yaml").exists()
    assert run_cli("plan", "--fleet", str(fleet), "--detailed-exitcode").code == 0


def test_import_writes_nothing_if_one_file_exists(fleet, run_cli):
    root = Path(fleet).parent
    (root / "brand-a" / "inbound.yaml").unlink()
    result = run_cli("import", "--fleet", fleet)
    assert result.code == 1
    assert "already exist(s); import never overwrites a file" in result.err
    assert not (root / "brand-a" / "inbound.yaml").exists()


def test_fleet_runs_refuse_the_flags_of_a_single_account(fleet, run_cli):
    result = run_cli("plan", "--fleet", fleet, "--api-url", "https://x.example.com")
    assert result.code == 1
    assert "--api-url and --api-key-file do not apply" in result.err
    result = run_cli("import", "--fleet", fleet, "--out", "x.yaml")
    assert result.code == 1
    assert "--out does not apply" in result.err


def test_with_a_saved_plan_only_changed_targets_get_a_job_and_moves_share_one(
    fleet, run_cli, tmp_path
):
    saved = tmp_path / "plan.json"
    assert (
        run_cli(
            "plan",
            "--fleet",
            fleet,
            "--target",
            "brand-a",
            "--target",
            "brand-b",
            "--out",
            str(saved),
        ).code
        == 0
    )
    result = run_cli("matrix", "--fleet", fleet, "--plan", str(saved))
    assert result.code == 0, result.err
    assert [e["name"] for e in json.loads(result.out)["include"]] == ["brand-a+brand-b"]
