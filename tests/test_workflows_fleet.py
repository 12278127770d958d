"""The fleet workflows' steps end to end, as a GitHub runner runs them, against one sandbox.

Each target's job gets only its keys: from INBOUND_SYNC_API_KEY (its environment's secret) or
INBOUND_SYNC_FLEET_KEYS (the fleet environment's VARIABLE=key lines), through fleet_keys.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from fleet_support import FLEET_KEYS, FLEET_SEED, MOVED, copy_example
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import account, bindings
from sandbox_fixtures import controller
from workflow_support import (
    EXAMPLES,
    FLEET_REUSABLE,
    SCRIPTS,
    WORKFLOWS,
    load_workflow,
    run_script,
    runner_env,
)

BUNDLE = "".join(f"{name}={key}\n" for name, key in FLEET_KEYS.items())


def keys_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet_keys", SCRIPTS / "fleet_keys.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fleet_keys = keys_module()


# -- fleet_keys.py ---------------------------------------------------------------------------


def test_the_bundle_sets_exactly_the_variables_asked_for_and_drops_the_fixed_names():
    env = {
        "INBOUND_SYNC_FLEET_KEYS": "# keys\nA=ka\n\nB = kb\n",
        "INBOUND_SYNC_API_KEY": "x",
        "P": "1",
    }
    assert fleet_keys.keyed_env(["B"], env) == {"P": "1", "B": "kb"}
    assert fleet_keys.keyed_env(["*"], env) == {"P": "1", "A": "ka", "B": "kb"}


def test_one_target_takes_its_environments_key():
    assert fleet_keys.keyed_env(["A"], {"INBOUND_SYNC_API_KEY": "k"}) == {"A": "k"}


def test_a_missing_key_is_named_and_two_targets_never_share_one_key():
    with pytest.raises(fleet_keys.KeysError, match="no key for A, B"):
        fleet_keys.keyed_env(["A", "B"], {"INBOUND_SYNC_API_KEY": "k"})


def test_a_malformed_line_is_named_by_its_number_never_shown():
    with pytest.raises(fleet_keys.KeysError) as caught:
        fleet_keys.bundle("A=ka\nsk-live-NOT-SHOWN\n")
    assert str(caught.value) == "line 2 of INBOUND_SYNC_FLEET_KEYS is not VARIABLE=key"


# -- the step scripts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    app = create_app(seed=FLEET_SEED)
    with running_server(app) as url:
        yield app, url
    controller(app).close()


@pytest.fixture
def sandbox(server):
    app, _ = server
    controller(app).reset()
    return controller(app)


@pytest.fixture
def repo(server, sandbox, tmp_path):
    _, url = server
    workspace = tmp_path / "repo"
    workspace.mkdir()
    copy_example(workspace, url)
    return workspace


def job_env(repo: Path, **extra: str) -> dict[str, str]:
    return runner_env(repo, INBOUND_SYNC_FLEET="fleet.yaml", **extra)


def no_key_in(step, env) -> None:
    seen = [step.text, str(step.outputs), step.summary]
    seen += [p.read_text() for p in Path(env["RUNNER_TEMP"]).rglob("*") if p.is_file()]
    for text in seen:
        for key in FLEET_KEYS.values():
            assert key not in text


def test_the_plan_step_writes_one_comment_for_every_target(repo):
    env = job_env(repo, INBOUND_SYNC_FLEET_KEYS=BUNDLE, INBOUND_SYNC_INSTANCE="fleet")
    step = run_script("fleet-plan.sh", env)
    assert step.code == 0, step.text
    body = Path(step.outputs["body-file"]).read_text()
    assert body.startswith("### inbound-sync fleet plan (fleet)\n")
    assert "- move +91 80 4431 9242 from brand-a to brand-b" in body
    assert body.count("<details open>") == 3
    assert (
        "::notice file=brand-b/inbound.yaml,line=8,title=inbound-sync plan%3A brand-b::" in step.out
    )
    no_key_in(step, env)


def test_the_plan_step_shows_the_readable_targets_when_one_fails(repo):
    bundle = BUNDLE.replace("sandbox-key-staging", "unknown")
    step = run_script("fleet-plan.sh", job_env(repo, INBOUND_SYNC_FLEET_KEYS=bundle))
    assert step.code == 1
    body = Path(step.outputs["body-file"]).read_text()
    assert "<b>brand-a</b>" in body
    assert "> **staging could not be planned:**" in body
    assert "1 target could not be planned: staging" in body


def test_the_prepare_step_plans_the_fleet_and_prints_the_jobs(repo):
    step = run_script("fleet-prepare.sh", job_env(repo, INBOUND_SYNC_FLEET_KEYS=BUNDLE))
    assert step.code == 0, step.text
    assert step.outputs["changes"] == "true"
    jobs = json.loads(step.outputs["matrix"])["include"]
    assert [(j["name"], j["key_1"], j["key_2"]) for j in jobs] == [
        ("brand-a+brand-b", "INBOUND_SYNC_KEY_BRAND_A", "INBOUND_SYNC_KEY_BRAND_B"),
        ("staging", "INBOUND_SYNC_KEY_STAGING", ""),
    ]


def test_the_prepare_step_runs_only_on_the_branch_it_is_given(repo, sandbox):
    env = job_env(repo, INBOUND_SYNC_FLEET_KEYS=BUNDLE, INBOUND_SYNC_BRANCH="release")
    step = run_script("fleet-prepare.sh", env)
    assert step.code == 1
    assert "apply runs only on release" in step.out
    assert sandbox.stats()["requests"] == {}


def test_each_apply_job_applies_its_targets_with_their_keys_alone(repo, sandbox):
    move = job_env(
        repo,
        INBOUND_SYNC_FLEET_KEYS=BUNDLE,
        INBOUND_SYNC_TARGETS="brand-a brand-b",
        INBOUND_SYNC_KEY_NAMES="INBOUND_SYNC_KEY_BRAND_A INBOUND_SYNC_KEY_BRAND_B   ",
    )
    step = run_script("fleet-apply.sh", move)
    assert step.code == 0, step.text
    assert MOVED in bindings(account(sandbox, "brand-b"))
    audit = (Path(step.outputs["out-dir"]) / "audit.jsonl").read_text()
    assert all(json.loads(line)["status"] != 409 for line in audit.splitlines())
    no_key_in(step, move)

    one = job_env(
        repo,
        INBOUND_SYNC_API_KEY=FLEET_KEYS["INBOUND_SYNC_KEY_STAGING"],
        INBOUND_SYNC_TARGETS="staging",
        INBOUND_SYNC_KEY_NAMES="INBOUND_SYNC_KEY_STAGING",
    )
    step = run_script("fleet-apply.sh", one)
    assert step.code == 0, step.text
    assert "918044319250" in bindings(account(sandbox, "staging"))


def test_an_apply_job_without_the_key_of_one_of_its_targets_writes_nothing(repo, sandbox):
    env = job_env(
        repo,
        INBOUND_SYNC_API_KEY=FLEET_KEYS["INBOUND_SYNC_KEY_BRAND_A"],
        INBOUND_SYNC_TARGETS="brand-a brand-b",
        INBOUND_SYNC_KEY_NAMES="INBOUND_SYNC_KEY_BRAND_A INBOUND_SYNC_KEY_BRAND_B",
    )
    step = run_script("fleet-apply.sh", env)
    assert step.code == 1
    assert "no key for INBOUND_SYNC_KEY_BRAND_A, INBOUND_SYNC_KEY_BRAND_B" in step.err
    assert sandbox.stats()["writes"] == 0


def test_the_drift_job_of_a_target_reports_its_account(repo, sandbox):
    env = job_env(
        repo,
        INBOUND_SYNC_API_KEY=FLEET_KEYS["INBOUND_SYNC_KEY_STAGING"],
        INBOUND_SYNC_TARGETS="staging",
        INBOUND_SYNC_KEY_NAMES="INBOUND_SYNC_KEY_STAGING",
    )
    step = run_script("fleet-drift.sh", env)
    assert step.code == 0, step.text
    assert step.outputs["status"] == "drift"
    assert (
        Path(step.outputs["body-file"]).read_text().startswith("### inbound-sync drift (staging)")
    )
    no_key_in(step, env)


def test_the_targets_job_needs_no_key(repo, sandbox):
    step = run_script("fleet-matrix.sh", job_env(repo))
    assert step.code == 0, step.text
    names = [j["name"] for j in json.loads(step.outputs["matrix"])["include"]]
    assert names == ["brand-a", "brand-b", "staging"]
    assert sandbox.stats()["requests"] == {}


# -- the workflow files ----------------------------------------------------------------------


def test_a_target_job_runs_in_its_environment_and_concurrency_group():
    drift = load_workflow(WORKFLOWS / "inbound-fleet-drift.yml")["jobs"]["drift"]
    assert drift["environment"] == "${{ format('{0}{1}', inputs.environment-prefix, matrix.name) }}"
    assert (
        drift["concurrency"]["group"]
        == "inbound-sync-drift-${{ github.repository }}-${{ matrix.name }}"
    )
    assert drift["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    apply = load_workflow(WORKFLOWS / "inbound-fleet-apply.yml")["jobs"]["apply"]
    # A job that moves numbers holds two targets: only the fleet environment has both keys.
    assert apply["environment"].startswith(
        "${{ contains(matrix.name, '+') && inputs.fleet-environment"
    )
    assert apply["concurrency"] == {
        "group": "inbound-sync-apply-${{ github.repository }}-${{ matrix.name }}",
        "cancel-in-progress": False,
    }
    assert apply["if"] == "${{ needs.plan.outputs.changes == 'true' }}"


@pytest.mark.parametrize("name", FLEET_REUSABLE)
def test_a_fleet_caller_passes_the_fleet_file_and_no_secret(name):
    [job] = load_workflow(EXAMPLES / name)["jobs"].values()
    assert job["with"]["fleet"] == "fleet.yaml"
    assert "secrets" not in job  # the keys live in GitHub environments
    reusable = load_workflow(WORKFLOWS / name)["on"]["workflow_call"]
    assert all(not s["required"] for s in reusable["secrets"].values())
