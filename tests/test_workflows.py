"""The workflow files: they parse, and they keep their promises.

The linters (GitHub's schema, zizmor, shellcheck) and the pinning of every action are in
test_workflows_lint.py; the release workflow and the package it builds in test_workflows_release.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflow_support import (
    ALL_WORKFLOWS,
    BIN,
    EXAMPLES,
    FLEET_REUSABLE,
    REUSABLE,
    ROOT,
    SCRIPTS,
    WORKFLOWS,
    load_workflow,
    workflow_steps,
)

# The secrets each step script gets: one account's key, a fleet's keys, or none.
KEY, FLEET_KEYS = "INBOUND_SYNC_API_KEY", "INBOUND_SYNC_FLEET_KEYS"
SCRIPT_KEYS = {
    "plan.sh": {KEY},
    "apply.sh": {KEY},
    "drift.sh": {KEY},
    "fleet-plan.sh": {FLEET_KEYS},
    "fleet-prepare.sh": {FLEET_KEYS},
    "fleet-apply.sh": {KEY, FLEET_KEYS},
    "fleet-drift.sh": {KEY},
}
SCRIPT = re.compile(r"(?:INBOUND_SYNC_SCRIPTS|\.github/scripts)/([\w.-]+)")


def _names(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _run_blocks() -> Iterator[tuple[str, str]]:
    for path in ALL_WORKFLOWS:
        for job, step in workflow_steps(load_workflow(path)):
            if "run" in step:
                yield f"{path.name}:{job}:{step.get('name', step['run'][:30])}", step["run"]


def test_the_project_has_ci_release_the_three_reusable_workflows_and_their_callers():
    reusable = {*REUSABLE, *FLEET_REUSABLE}
    assert {p.name for p in WORKFLOWS.glob("*.yml")} == {"ci.yml", "release.yml", *reusable}
    assert {p.name for p in EXAMPLES.glob("*.yml")} == reusable


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_names(ALL_WORKFLOWS))
def test_workflow_parses_with_triggers_and_jobs(path):
    workflow = load_workflow(path)
    assert workflow["name"]
    assert workflow["on"]
    for name, job in workflow["jobs"].items():
        assert ("uses" in job) != ("steps" in job), name
        if "steps" in job:
            assert job["runs-on"] == "ubuntu-latest"
            assert job["timeout-minutes"] > 0


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_workflow_installs_a_pinned_tool_and_takes_the_key_as_a_secret(name):
    workflow = load_workflow(WORKFLOWS / name)
    call = workflow["on"]["workflow_call"]
    assert set(workflow["on"]) == {"workflow_call"}
    for required in ("tool-repository", "tool-ref"):
        assert call["inputs"][required]["required"] is True
    assert call["inputs"]["config"]["default"] == "inbound.yaml"
    assert call["secrets"] == {
        "INBOUND_SYNC_API_KEY": {"description": "The account's API key.", "required": True}
    }
    [tool] = [
        s
        for _, s in workflow_steps(workflow)
        if s.get("with", {}).get("path") == ".inbound-sync-tool"
    ]
    assert tool["uses"].startswith("actions/checkout@")
    assert tool["with"]["repository"] == "${{ inputs.tool-repository }}"
    assert tool["with"]["ref"] == "${{ inputs.tool-ref }}"
    install = [s["run"] for _, s in workflow_steps(workflow) if "install.sh" in s.get("run", "")]
    assert install == ["bash .inbound-sync-tool/.github/scripts/install.sh .inbound-sync-tool"]


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_names(ALL_WORKFLOWS))
def test_secrets_reach_steps_only_through_env(path):
    workflow = load_workflow(path)
    assert "secrets." not in str(workflow.get("env", "")), "no workflow-wide secret"
    for name, job in workflow["jobs"].items():
        assert "secrets." not in str(job.get("env", "")), f"{name}: no job-wide secret"
    for job, step in workflow_steps(workflow):
        assert "secrets." not in step.get("run", ""), f"{job}: a secret in a script"
        assert "github.token" not in step.get("run", ""), f"{job}: the token in a script"
        assert "secrets." not in str(step.get("with", "")), f"{job}: a secret as an action input"
        env = step.get("env", {})
        scripts = SCRIPT.findall(step.get("run", ""))
        wanted = set().union(*(SCRIPT_KEYS.get(name, set()) for name in scripts))
        assert {KEY, FLEET_KEYS} & set(env) == wanted, f"{job}: the keys only where needed"
        for name in wanted:
            assert env[name] == f"${{{{ secrets.{name} }}}}"


def test_step_scripts_never_read_trace_or_print_a_secret():
    for path in SCRIPTS.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "set -x" not in text, path.name
        assert "xtrace" not in text, path.name
        assert "$INBOUND_SYNC_API_KEY" not in text, path.name
        assert "${INBOUND_SYNC_API_KEY" not in text, path.name
        assert "$GITHUB_TOKEN" not in text, path.name


def test_workflow_runs_only_scripts_that_exist():
    referenced = set()
    for _, script in _run_blocks():
        referenced |= set(SCRIPT.findall(script))
    assert referenced == {"install.sh", "github_report.py", *SCRIPT_KEYS, "fleet-matrix.sh"}
    for name in referenced:
        assert (SCRIPTS / name).is_file(), name


def test_apply_runs_one_at_a_time_and_applies_exactly_the_saved_plan():
    job = load_workflow(WORKFLOWS / "inbound-apply.yml")["jobs"]["apply"]
    assert job["concurrency"] == {
        "group": "inbound-sync-apply-${{ github.repository }}-${{ inputs.instance }}",
        "cancel-in-progress": False,
    }
    assert job["permissions"] == {"contents": "read"}
    script = (SCRIPTS / "apply.sh").read_text(encoding="utf-8")
    assert '--out "$OUT/plan.json"' in script
    assert 'inbound-sync apply --plan "$OUT/plan.json"' in script
    [upload] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["if"] == "${{ always() }}"
    for name in ("plan.json", "audit.jsonl", "undo-plan.json"):
        assert f"${{{{ runner.temp }}}}/inbound-sync/{name}" in upload["with"]["path"]


def test_plan_comment_step_runs_on_pull_requests_even_after_a_red_plan():
    job = load_workflow(WORKFLOWS / "inbound-plan.yml")["jobs"]["plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    [comment] = [s for s in job["steps"] if "github_report.py" in s.get("run", "")]
    assert "!cancelled()" in comment["if"]
    assert "github.event_name == 'pull_request'" in comment["if"]
    assert comment["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_drift_issue_step_runs_only_when_the_comparison_ran():
    job = load_workflow(WORKFLOWS / "inbound-drift.yml")["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    [issue] = [s for s in job["steps"] if "drift-issue" in s.get("run", "")]
    assert issue["if"] == (
        "${{ steps.drift.outputs.status == 'drift' || steps.drift.outputs.status == 'clean' }}"
    )
    call = load_workflow(WORKFLOWS / "inbound-drift.yml")["on"]["workflow_call"]
    assert call["inputs"]["label"]["default"] == "inbound-drift"


def test_drift_checks_out_the_history_and_passes_the_baseline_through_the_issue():
    workflow = load_workflow(WORKFLOWS / "inbound-drift.yml")
    steps = workflow["jobs"]["drift"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == "${{ inputs.fetch-depth }}"
    assert workflow["on"]["workflow_call"]["inputs"]["fetch-depth"]["default"] == 0
    names = [s.get("name", "") for s in steps]
    read, compare = (
        names.index("Read the last check's report from the drift issue"),
        names.index("Compare the account with git"),
    )
    assert read < compare
    assert "drift-baseline" in steps[read]["run"]
    assert '"$RUNNER_TEMP/inbound-sync/baseline.json"' in steps[read]["run"]
    # The token reads the issue; the API key stays with the step that calls the API.
    assert "INBOUND_SYNC_API_KEY" not in steps[read]["env"]
    [issue] = [s for s in steps if "drift-issue" in s.get("run", "")]
    assert issue["env"]["REPORT_FILE"] == "${{ steps.drift.outputs.report-file }}"
    assert '--report-file "$REPORT_FILE"' in issue["run"]


@pytest.mark.parametrize("name", REUSABLE)
def test_caller_example_passes_what_the_reusable_workflow_requires(name):
    reusable = load_workflow(WORKFLOWS / name)
    call = reusable["on"]["workflow_call"]
    [called] = reusable["jobs"].values()
    [job] = load_workflow(EXAMPLES / name)["jobs"].values()
    path, ref = job["uses"].split("@")
    assert path == f"your-org/inbound-sync/.github/workflows/{name}"
    assert re.fullmatch(r"[0-9a-f]{40}", ref), "pinned to a commit, not a tag that can move"
    given = job["with"]
    assert set(given) <= set(call["inputs"])
    assert {k for k, v in call["inputs"].items() if v.get("required")} <= set(given)
    assert given["tool-repository"] == "your-org/inbound-sync"
    assert given["tool-ref"] == ref, "the tool is pinned to the workflow's own ref"
    assert job["secrets"] == {"INBOUND_SYNC_API_KEY": "${{ secrets.INBOUND_SYNC_API_KEY }}"}
    # A called workflow can only narrow the caller's permissions, never widen them.
    assert job["permissions"] == called["permissions"]


def test_caller_examples_trigger_as_the_readme_says():
    plan = load_workflow(EXAMPLES / "inbound-plan.yml")["on"]
    assert set(plan) == {"pull_request"}
    assert "inbound/**" in plan["pull_request"]["paths"]
    apply = load_workflow(EXAMPLES / "inbound-apply.yml")["on"]
    assert apply["push"]["branches"] == ["main"]
    drift = load_workflow(EXAMPLES / "inbound-drift.yml")["on"]
    assert drift["schedule"][0]["cron"]
    assert "workflow_dispatch" in drift


def test_ci_runs_make_test_on_every_supported_python():
    workflow = load_workflow(WORKFLOWS / "ci.yml")
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make test PYTHON=python"]
    assert workflow["permissions"] == {"contents": "read"}


def test_the_python_step_script_passes_ruff():
    # `make lint` covers src and tests; the step scripts live under .github.
    ruff = shutil.which("ruff", path=str(BIN))
    assert ruff is not None
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *args, str(SCRIPTS)], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
