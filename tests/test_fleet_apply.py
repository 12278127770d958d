"""`apply --fleet` over a loopback socket, against one sandbox whose tenants are the targets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fleet_support import (
    BRAND_A_ASSISTANT,
    BRAND_B_ASSISTANT,
    FLEET_KEYS,
    FLEET_SEED,
    MOVED,
    copy_example,
)
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import account, bindings
from sandbox_fixtures import controller

CRM_B = "0b5c1f3e-2a4d-4c6e-8f10-1a2b3c4d5e12"
OUTSIDER = "6d1f0e2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


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


def log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def only_the_move(fleet: str) -> None:
    """brand-a declares what it holds but the moved number, brand-b only the moved number."""
    root = Path(fleet).parent
    text = (root / "brand-a" / "inbound.yaml").read_text()
    (root / "brand-a" / "inbound.yaml").write_text(text.split('  - number: "+91 80 4431 9241"')[0])
    text = (root / "brand-b" / "inbound.yaml").read_text()
    (root / "brand-b" / "inbound.yaml").write_text(text.split('  - number: "+91 80 4431 9243"')[0])


def test_a_number_moves_between_two_tenants_in_one_apply_without_a_409(
    fleet, sandbox, run_cli, tmp_path
):
    log = tmp_path / "calls.jsonl"
    result = run_cli("apply", "--fleet", fleet, "--auto-approve", "--log-file", str(log))
    assert result.code == 0, result.err
    assert result.out.count("Converged: the account matches the desired state.") == 3
    assert "Fleet: 5 done, 0 failed, 0 skipped; 3 of 3 targets converged." in result.out
    calls = log_lines(log)
    assert all(call["status"] != 409 for call in calls)
    moved = [(c["target"], c["action"]) for c in calls if c["number"] == "+" + MOVED]
    assert moved == [("brand-a", "delete"), ("brand-b", "assign")]
    assert MOVED not in bindings(account(sandbox, "brand-a"))
    assert bindings(account(sandbox, "brand-b"))[MOVED] == (BRAND_B_ASSISTANT, CRM_B)
    assert run_cli("plan", "--fleet", fleet, "--detailed-exitcode").code == 0


def test_a_failed_delete_skips_its_assign_and_holds_nothing_else_back(fleet, sandbox, run_cli):
    sandbox.add_fault({"kind": "error_before", "match": "DELETE /inbound", "status": 400})
    result = run_cli("apply", "--fleet", fleet, "--auto-approve", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    outcomes = {
        (name, o["action"], o["normalized"]): o
        for name, target in report["targets"].items()
        for o in target["outcomes"]
    }
    assert outcomes[("brand-a", "delete", MOVED)]["status"] == "failed"
    skipped = outcomes[("brand-b", "assign", MOVED)]
    assert skipped["status"] == "skipped"
    assert skipped["message"].startswith(
        "not sent: the delete of +91 80 4431 9242 in brand-a, which must free it first, "
        "did not succeed"
    )
    assert skipped["move"] == outcomes[("brand-a", "delete", MOVED)]["move"]
    others = [o["status"] for key, o in outcomes.items() if key[2] != MOVED]
    assert others == ["done", "done", "done"]
    assert bindings(account(sandbox, "brand-a"))[MOVED] == (BRAND_A_ASSISTANT, None)


def test_an_assign_that_fails_after_its_delete_leaves_the_number_free_and_undo_puts_it_back(
    fleet, sandbox, run_cli, tmp_path
):
    only_the_move(fleet)
    sandbox.add_fault({"kind": "error_before", "match": "POST /inbound/assign", "status": 400})
    undo = tmp_path / "undo.json"
    result = run_cli("apply", "--fleet", fleet, "--auto-approve", "--undo-out", str(undo))
    assert result.code == 1
    assert (
        "+91 80 4431 9242 was released from brand-a and is now free: apply again to assign it, "
        "or apply the undo plan to put it back in brand-a"
    ) in result.out
    assert MOVED not in bindings(account(sandbox, "brand-a"))
    assert MOVED not in bindings(account(sandbox, "brand-b"))

    restored = run_cli("apply", "--fleet", fleet, "--plan", str(undo))
    assert restored.code == 0, restored.err
    assert bindings(account(sandbox, "brand-a"))[MOVED] == (BRAND_A_ASSISTANT, None)

    again = run_cli("apply", "--fleet", fleet, "--auto-approve")
    assert again.code == 0, again.err
    assert bindings(account(sandbox, "brand-b"))[MOVED] == (BRAND_B_ASSISTANT, CRM_B)
    assert run_cli("plan", "--fleet", fleet, "--detailed-exitcode").code == 0


def test_the_undo_of_a_move_is_a_move_back(fleet, sandbox, run_cli, tmp_path):
    undo = tmp_path / "undo.json"
    assert run_cli("apply", "--fleet", fleet, "--auto-approve", "--undo-out", str(undo)).code == 0
    document = json.loads(undo.read_text())
    (move,) = document["moves"]
    assert (move["from"], move["to"], move["normalized"]) == ("brand-b", "brand-a", MOVED)
    log = tmp_path / "undo.jsonl"
    result = run_cli("apply", "--fleet", fleet, "--plan", str(undo), "--log-file", str(log))
    assert result.code == 0, result.err
    assert all(call["status"] != 409 for call in log_lines(log))
    assert bindings(account(sandbox, "brand-a")) == {
        "918044319240": (BRAND_A_ASSISTANT, None),
        MOVED: (BRAND_A_ASSISTANT, None),
    }
    assert bindings(account(sandbox, "brand-b")) == {}


def add_outsider(sandbox, number: str) -> None:
    sandbox.seed(
        {
            "tenants": {
                "outsider": {
                    "api_key": "sandbox-key-outsider",
                    "assistants": {OUTSIDER: "Not ours"},
                    "mappings": [{"phone_number": number, "assistant_id": OUTSIDER}],
                }
            }
        }
    )


def test_a_409_on_a_number_no_target_holds_says_it_is_outside_the_fleet(fleet, sandbox, run_cli):
    add_outsider(sandbox, "+918044319243")
    result = run_cli("apply", "--fleet", fleet, "--auto-approve")
    assert result.code == 1
    assert "conflict: +91 80 4431 9243 is held by an account outside this fleet (" in result.out


def test_a_409_in_a_run_that_leaves_targets_out_names_them(fleet, sandbox, run_cli):
    result = run_cli("apply", "--fleet", fleet, "--target", "brand-b", "--auto-approve")
    assert result.code == 1
    assert (
        "conflict: +91 80 4431 9242 is held by an account outside this run: outside this "
        "fleet, or in brand-a, staging, which --target leaves out"
    ) in result.out


def test_apply_refuses_to_start_when_a_target_cannot_be_read(fleet, sandbox, run_cli, monkeypatch):
    monkeypatch.setenv("INBOUND_SYNC_KEY_STAGING", "unknown-key")
    result = run_cli("apply", "--fleet", fleet, "--auto-approve")
    assert result.code == 1
    assert "apply refuses to start: some accounts could not be read" in result.err
    assert "  staging: list the account failed (HTTP 401)" in result.err
    assert sandbox.stats()["writes"] == 0
    left_out = run_cli(
        "apply", "--fleet", fleet, "--target", "brand-a", "--target", "brand-b", "--auto-approve"
    )
    assert left_out.code == 0, left_out.err
    assert bindings(account(sandbox, "brand-b"))[MOVED] == (BRAND_B_ASSISTANT, CRM_B)


def test_a_saved_fleet_plan_applies_and_goes_stale_naming_the_target(
    fleet, sandbox, run_cli, tmp_path
):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", "--fleet", fleet, "--out", str(saved)).code == 0
    mapping = next(m for m in sandbox.all_mappings() if m.phone_number_normalized == "918044319240")
    sandbox.change_mapping(mapping.inbound_id, {"assistant_id": None})
    stale = run_cli("apply", "--fleet", fleet, "--plan", str(saved))
    assert stale.code == 4
    assert f"the account of brand-a changed since {saved} was made; plan again" in stale.err
    assert "target brand-a: 2 change(s) saved, 3 needed now" in stale.err
    assert sandbox.stats()["writes"] == 0

    assert run_cli("plan", "--fleet", fleet, "--out", str(saved)).code == 0
    applied = run_cli("apply", "--fleet", fleet, "--plan", str(saved))
    assert applied.code == 0, applied.err
    assert run_cli("drift", "--fleet", fleet).code == 0


def test_a_saved_plan_applies_both_ends_of_a_move_or_neither(fleet, sandbox, run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", "--fleet", fleet, "--out", str(saved)).code == 0
    result = run_cli("apply", "--fleet", fleet, "--plan", str(saved), "--target", "brand-b")
    assert result.code == 1
    assert "a run applies both ends of a move or neither" in result.err
    staging = run_cli("apply", "--fleet", fleet, "--plan", str(saved), "--target", "staging")
    assert staging.code == 0, staging.err
    assert "918044319250" in bindings(account(sandbox, "staging"))


def test_plans_of_the_other_kind_are_refused_with_the_right_command(
    fleet, sandbox, run_cli, tmp_path, monkeypatch
):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", "--fleet", fleet, "--out", str(saved)).code == 0
    monkeypatch.setenv("INBOUND_SYNC_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", "k")
    single = run_cli("apply", "--plan", str(saved))
    assert single.code == 1
    assert (
        f"{saved} is a fleet plan: apply it with `inbound-sync apply --fleet FLEET_FILE"
        in single.err
    )
    document = json.loads(saved.read_text())
    one = {"format_version": 1, **document["targets"]["staging"]}
    saved.write_text(json.dumps(one))
    result = run_cli("apply", "--fleet", fleet, "--plan", str(saved))
    assert result.code == 1
    assert f"{saved} is the plan of a single account: apply it without --fleet" in result.err


def test_no_key_of_the_fleet_appears_in_any_output_or_file(
    server, sandbox, tmp_path, run_cli, monkeypatch
):
    secret = "sk-live-FLEET-SWEEP-5e7c9a1b3d"
    sandbox.seed({"tenants": {"swept": {"api_key": secret, "assistants": {OUTSIDER: "Swept"}}}})
    _, url = server
    (tmp_path / "swept").mkdir()
    (tmp_path / "swept" / "inbound.yaml").write_text(
        f'version: 1\nnumbers:\n  - number: "+918044319260"\n    assistant: {OUTSIDER}\n'
    )
    (tmp_path / "key").write_text(secret)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        f"version: 1\ntargets:\n  swept:\n    api_url: {url}\n    api_key_file: key\n"
        "    config: [swept/]\n"
    )
    files = [tmp_path / "plan.json", tmp_path / "log.jsonl", tmp_path / "undo.json"]
    seen = [
        run_cli("validate", "--fleet", str(fleet)),
        run_cli("plan", "--fleet", str(fleet), "-v", "--out", str(files[0])),
        run_cli("drift", "--fleet", str(fleet), "--format", "json"),
        run_cli(
            "apply",
            "--fleet",
            str(fleet),
            "--plan",
            str(files[0]),
            "-v",
            "--log-file",
            str(files[1]),
            "--undo-out",
            str(files[2]),
        ),
        run_cli("list", "--fleet", str(fleet), "--format", "json"),
    ]
    assert [r.code for r in seen] == [0, 0, 2, 0, 0]
    for result in seen:
        assert "FLEET-SWEEP" not in result.out + result.err
    for path in files:
        assert "FLEET-SWEEP" not in path.read_text()
