"""The workflows' steps end to end: the real step scripts, as a GitHub runner runs them.

Each test runs .github/scripts/*.sh with CI=true, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT and
RUNNER_TEMP set and stdin not a terminal, against the sandbox on a loopback socket; the comment
and issue steps talk to a fake GitHub API. The API key is a canary that must appear nowhere.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from inbound_sync.cli import main
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from sandbox_fixtures import controller
from workflow_support import (
    API_KEY,
    CRM,
    GITHUB_TOKEN,
    SALES,
    SCRIPTS,
    SEED,
    SUPPORT,
    Step,
    fake_github,
    github_env,
    run_script,
    runner_env,
)

SHARED = f"""\
version: 1
assistants:
  support: {SUPPORT}
  sales: {SALES}
strategies:
  crm: {CRM}
"""
NUMBERS = """\
version: 1
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
    strategy: crm
  - number: "080 4431 9241"
    assistant: sales
"""
# An unmanaged number the seed gives the account, for plans that delete.
UNMANAGED = "+918044319249"
DESTRUCTIVE = "version: 1\nunmanaged: delete\nsafety:\n  max_destructive: 0\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed") / "seed.yaml"
    extra = f"    mappings:\n      - phone_number: '{UNMANAGED}'\n        assistant_id: {SUPPORT}\n"
    seed.write_text(SEED + extra, encoding="utf-8")
    app = create_app(seed=str(seed))
    with running_server(app) as url:
        yield app, url
    controller(app).close()


@pytest.fixture
def account(server):
    app, _ = server
    controller(app).reset()
    return controller(app)


@pytest.fixture
def repo(tmp_path):
    workspace = tmp_path / "repo"
    (workspace / "inbound").mkdir(parents=True)
    (workspace / "inbound" / "_shared.yaml").write_text(SHARED, encoding="utf-8")
    (workspace / "inbound" / "numbers.yaml").write_text(NUMBERS, encoding="utf-8")
    return workspace


@pytest.fixture
def env(server, account, repo):
    _, url = server
    return runner_env(
        repo,
        INBOUND_SYNC_CONFIG="inbound/",
        INBOUND_SYNC_API_URL=url,
        INBOUND_SYNC_API_KEY=API_KEY,
    )


@pytest.fixture
def converge(env, monkeypatch, capsys):
    """Make the account match the config, in-process (quicker than a step when it is only setup)."""

    def run() -> None:
        monkeypatch.chdir(env["GITHUB_WORKSPACE"])
        for name in ("INBOUND_SYNC_API_URL", "INBOUND_SYNC_API_KEY"):
            monkeypatch.setenv(name, env[name])
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert main(["apply", "inbound/", "--auto-approve"]) == 0, capsys.readouterr()

    return run


def out_dir(env: dict[str, str]) -> Path:
    return Path(env["RUNNER_TEMP"]) / "inbound-sync"


def assert_no_secret(step: Step, env: dict[str, str]) -> None:
    """Neither secret in the log, the outputs, the summary, or any file the step left."""
    seen = [step.text, str(step.outputs), step.summary]
    seen += [
        p.read_text(encoding="utf-8") for p in Path(env["RUNNER_TEMP"]).rglob("*") if p.is_file()
    ]
    for text in seen:
        assert API_KEY not in text
        assert GITHUB_TOKEN not in text


def writes(account) -> int:
    return int(account.stats()["writes"])


def drift_by_hand(account) -> None:
    [row] = [m for m in account.all_mappings() if m.phone_number_normalized == "918044319241"]
    account.change_mapping(row.inbound_id, {"assistant_id": SUPPORT})


# plan.sh


def test_plan_step_annotates_the_lines_summarises_and_writes_the_comment(env, account):
    step = run_script("plan.sh", env)
    assert step.code == 0, step.text
    assert (
        "::notice file=inbound/numbers.yaml,line=3,title=inbound-sync plan::"
        "assign +91 80 4431 9240: assistant support + strategy crm"
    ) in step.out
    assert "::notice file=inbound/numbers.yaml,line=6," in step.out
    assert "| 🟢 | assign | +91 80 4431 9240 |" in step.summary
    assert step.outputs["exit-code"] == "0"
    body = Path(step.outputs["body-file"]).read_text(encoding="utf-8")
    assert body.startswith("### inbound-sync plan\n")
    assert "**Plan: 2 to assign, 0 to update, 0 to detach, 0 to delete" in body
    assert "`inbound/numbers.yaml:6`" in body
    assert writes(account) == 0
    assert_no_secret(step, env)


def test_plan_step_fails_the_check_when_a_safety_guard_refuses(env, repo, account):
    (repo / "inbound" / "policy.yaml").write_text(DESTRUCTIVE, encoding="utf-8")
    env["INBOUND_SYNC_INSTANCE"] = "production"
    step = run_script("plan.sh", env)
    assert step.code == 3
    assert step.outputs["exit-code"] == "3"
    assert "::error title=inbound-sync%3A refused::1 destructive changes" in step.out
    body = Path(step.outputs["body-file"]).read_text(encoding="utf-8")
    assert body.startswith("### inbound-sync plan (production)\n")
    assert "> **Refused by the safety guards; nothing will be written.**" in body
    assert "| 🔴 | delete | +91 80 4431 9249 |" in body
    assert (
        "to exceed the thresholds, raise `safety.max_destructive` / "
        "`safety.max_destructive_percent` in this change, so that the override is reviewed"
    ) in body
    assert "protect" not in body
    assert writes(account) == 0


def test_plan_step_annotates_config_errors_and_never_calls_the_api(env, repo, account):
    broken = NUMBERS.replace("assistant: sales", "assistant: sale")
    (repo / "inbound" / "numbers.yaml").write_text(broken, encoding="utf-8")
    step = run_script("plan.sh", env)
    assert step.code == 1
    assert (
        "::error file=inbound/numbers.yaml,line=7,title=inbound-sync validate::"
        "numbers[1].assistant: unknown assistant alias 'sale'"
    ) in step.out
    body = Path(step.outputs["body-file"]).read_text(encoding="utf-8")
    assert "**The config is invalid; nothing was planned.**" in body
    assert "inbound/numbers.yaml:7: numbers[1].assistant" in body
    assert body == step.summary
    assert account.stats()["requests"] == {}


def test_plan_step_reports_a_refused_key_without_showing_it(env):
    env["INBOUND_SYNC_API_KEY"] = API_KEY + "-revoked"
    step = run_script("plan.sh", env)
    assert step.code == 1
    body = Path(step.outputs["body-file"]).read_text(encoding="utf-8")
    assert "**inbound-sync failed (exit 1); nothing was written.**" in body
    assert "the API key was refused" in body
    assert_no_secret(step, env)


# apply.sh


def test_apply_step_applies_the_saved_plan_and_keeps_the_evidence(env, account):
    step = run_script("apply.sh", env)
    assert step.code == 0, step.text
    assert step.outputs == {"out-dir": str(out_dir(env)), "exit-code": "0"}
    assert "### inbound-sync plan" in step.summary
    assert "**Apply finished: 2 done, 0 failed, 0 skipped. Converged" in step.summary
    for name in ("plan.json", "audit.jsonl", "undo-plan.json"):
        assert stat.S_IMODE(os.stat(out_dir(env) / name).st_mode) == 0o600, name
    audit = [json.loads(line) for line in (out_dir(env) / "audit.jsonl").read_text().splitlines()]
    assert sorted(e["action"] for e in audit) == ["assign", "assign", "list", "list", "summary"]
    undo = json.loads((out_dir(env) / "undo-plan.json").read_text())
    assert len(undo["changes"]) == 2
    assert writes(account) == 2
    assert_no_secret(step, env)

    again = run_script("apply.sh", env)
    assert again.code == 0
    assert writes(account) == 2, "a second apply has nothing to do"
    assert not (out_dir(env) / "undo-plan.json").exists()


def test_apply_step_refuses_to_run_off_the_default_branch(env, account):
    env.update(GITHUB_REF="refs/heads/feature", INBOUND_SYNC_BRANCH="main")
    step = run_script("apply.sh", env)
    assert step.code == 1
    assert "apply runs only on main, not refs/heads/feature" in step.out
    assert account.stats()["requests"] == {}


def test_apply_step_writes_nothing_when_a_safety_guard_refuses(env, repo, account):
    (repo / "inbound" / "policy.yaml").write_text(DESTRUCTIVE, encoding="utf-8")
    step = run_script("apply.sh", env)
    assert step.code == 3
    assert step.outputs["exit-code"] == "3"
    assert "Refused by the safety guards" in step.summary
    assert not (out_dir(env) / "plan.json").exists()
    assert writes(account) == 0


# drift.sh


def test_drift_step_fails_on_an_error_and_gives_no_status_for_the_issue(env):
    env["INBOUND_SYNC_API_KEY"] = "wrong"
    step = run_script("drift.sh", env)
    assert step.code == 1
    assert step.outputs["status"] == "error"
    assert "**inbound-sync failed (exit 1); nothing was written.**" in step.summary


# install.sh


def test_install_step_pip_installs_the_checkout_and_moves_it_out_of_the_workspace(repo, tmp_path):
    checkout = repo / ".inbound-sync-tool"
    shutil.copytree(SCRIPTS, checkout / ".github" / "scripts")
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "python").write_text('#!/bin/sh\necho "$@" >"$SHIM_LOG"\n', encoding="utf-8")
    (shim / "python").chmod(0o755)
    env = runner_env(repo, SHIM_LOG=str(tmp_path / "pip.log"))
    env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
    step = run_script("install.sh", env, ".inbound-sync-tool")
    assert step.code == 0, step.text
    assert step.out.startswith("inbound-sync, version ")
    pip = (tmp_path / "pip.log").read_text(encoding="utf-8").split()
    assert pip[:3] == ["-m", "pip", "install"]
    assert pip[-1] == str(checkout)
    moved = Path(env["RUNNER_TEMP"]) / "inbound-sync-tool"
    assert not checkout.exists()
    assert (moved / ".github" / "scripts" / "plan.sh").is_file()
    assert Path(env["GITHUB_ENV"]).read_text() == f"INBOUND_SYNC_SCRIPTS={moved}/.github/scripts\n"


# The whole job: the step script, then the GitHub step, as the workflow chains them.


def test_plan_job_keeps_one_comment_per_pull_request_across_pushes(env, repo):
    with fake_github() as github:
        env = github_env(github, {**env, "INBOUND_SYNC_HEAD_SHA": "feedc0de" * 5})
        for push in range(2):
            if push:  # the second push changes a number's assistant
                changed = NUMBERS.replace("assistant: sales", "assistant: support")
                (repo / "inbound" / "numbers.yaml").write_text(changed, encoding="utf-8")
            plan = run_script("plan.sh", env)
            assert plan.code == 0
            body = plan.outputs["body-file"]
            post = run_script("github_report.py", env, "comment", "--pr", "7", "--body-file", body)
            assert post.code == 0, post.text
        [comment] = github.comments_on(7)
    assert comment["body"].startswith("<!-- inbound-sync plan -->\n### inbound-sync plan\n")
    assert "+91 80 4431 9241 | assistant support |" in comment["body"]
    assert (
        "[workflow run 4242](https://github.example/acme/routing/actions/runs/4242)"
        in (comment["body"])
    )
    assert "for commit `feedc0d`" in comment["body"]
    assert post.out.startswith(f"Updated the plan comment {comment['id']} on pull request #7")
    assert_no_secret(post, env)


def test_drift_job_opens_updates_and_closes_one_issue(env, account, converge):
    converge()
    runs = []

    def check() -> Step:
        drift = run_script("drift.sh", env)
        assert drift.code == 0, drift.text
        args = ["--status", drift.outputs["status"], "--body-file", drift.outputs["body-file"]]
        step = run_script("github_report.py", env, "drift-issue", *args)
        assert step.code == 0, step.text
        runs.append((drift, Path(drift.outputs["body-file"]).read_text(encoding="utf-8")))
        return step

    drift_by_hand(account)
    with fake_github() as github:
        env = github_env(github, env)
        assert check().out == "Opened drift issue #1.\n"
        assert check().out == "Updated drift issue #1.\n"
        [issue] = github.open_issues()
        assert issue["labels"] == ["inbound-drift"]
        assert "inbound-drift" in github.labels
        converge()
        assert check().out == "Closed drift issue #1: the account is in sync.\n"
        assert github.open_issues() == []
        assert github.issues[1]["state_reason"] == "completed"
        [note] = github.comments_on(1)
    assert note["body"].startswith("The account is back in sync with git.")

    (drifted, body), _, (clean, _) = runs
    assert (drifted.outputs["status"], drifted.outputs["exit-code"]) == ("drift", "2")
    assert (clean.outputs["status"], clean.outputs["exit-code"]) == ("clean", "0")
    assert "::warning title=inbound-sync drift::the account has drifted from git" in drifted.out
    assert body.startswith("### inbound-sync drift\n")
    reason = "changed out of band: account has assistant support, git has assistant sales"
    assert reason in body
    assert body in drifted.summary
    assert issue["body"].startswith(f"<!-- inbound-sync drift -->\n{body}")
    for step, _ in runs:
        assert_no_secret(step, env)


def test_drift_job_alerts_once_per_drift_and_again_when_it_comes_back(env, account, converge):
    """Nightly checks chained as the workflow chains them: the open issue's baseline, drift.sh,
    then the issue step with the report."""
    converge()
    baseline = out_dir(env) / "baseline.json"

    def night(github) -> tuple[Step, Step]:
        read = run_script("github_report.py", env, "drift-baseline", "--out", str(baseline))
        assert read.code == 0, read.text
        drift = run_script("drift.sh", env)
        assert drift.code == 0, drift.text
        args = ["--status", drift.outputs["status"], "--body-file", drift.outputs["body-file"]]
        args += ["--report-file", drift.outputs["report-file"]]
        issue = run_script("github_report.py", env, "drift-issue", *args)
        assert issue.code == 0, issue.text
        return drift, issue

    with fake_github() as github:
        env = github_env(github, env)
        drift_by_hand(account)
        first, opened = night(github)
        assert opened.out == "Opened drift issue #1.\n"
        assert "**Drift: 1 number differs from git.**" in first.summary
        again, edited = night(github)
        assert edited.out == "Updated drift issue #1.\n"
        assert "**Drift: 1 number differs from git; 0 new since the last check.**" in again.summary
        assert "| reported before, first seen " in github.issues[1]["body"]
        [row] = [m for m in account.all_mappings() if m.phone_number_normalized == "918044319240"]
        account.change_mapping(row.inbound_id, {"assistant_id": SALES})
        _, announced = night(github)
        assert announced.out == (
            "Updated drift issue #1.\nCommented on drift issue #1: 1 new since the last check.\n"
        )
        [note] = github.comments_on(1)
        assert "- +91 80 4431 9240\n" in note["body"]
        converge()
        _, closed = night(github)
        assert closed.out == "Closed drift issue #1: the account is in sync.\n"
        drift_by_hand(account)
        back, reopened = night(github)
        assert reopened.out == "Opened drift issue #2.\n"
        assert "**Drift: 1 number differs from git.**" in back.summary
    for step in (first, again, back):
        assert_no_secret(step, env)
