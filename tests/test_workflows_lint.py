"""The workflow files pass GitHub's schemas, zizmor and shellcheck, and pin every action by SHA.

All three linters are PyPI wheels of the dev extra and run offline: check-jsonschema's
`vendor.github-*` schemas ship inside its wheel, and zizmor runs with `--offline`. Their
processes get a proxy that refuses every connection, so one that reached for the network would
fail here rather than pass by downloading something.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from workflow_support import (
    ALL_WORKFLOWS,
    BIN,
    ROOT,
    SCRIPTS,
    WORKFLOWS,
    load_workflow,
    workflow_steps,
)

ZIZMOR_CONFIG = ROOT / ".github" / "zizmor.yml"
# Composite or JavaScript actions of this repository, if it ever has some.
ACTION_FILES = sorted([*ROOT.glob("action.y*ml"), *ROOT.glob(".github/actions/*/action.y*ml")])
PINNED_FILES = ALL_WORKFLOWS + ACTION_FILES
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
SHA_PINNED = re.compile(r"[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"v\d+\.\d+\.\d+")
# What a run: step without `shell:` gets on a Linux runner, and what `shell: bash` or `sh` get.
SHELLS = {
    None: ("#!/usr/bin/env bash", "set -e"),
    "bash": ("#!/usr/bin/env bash", "set -eo pipefail"),
    "sh": ("#!/bin/sh", "set -e"),
}
SAMPLE_ACTION = """\
name: sample
description: A composite action, to show that the action schema is applied.
runs:
  using: composite
  steps:
    - run: echo hello
      shell: bash
"""


def _names(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return found


def _offline_env() -> dict[str, str]:
    """The environment minus GitHub tokens, with a proxy that refuses every connection."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    refused = "http://127.0.0.1:9"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        env[name] = refused
    env["NO_PROXY"] = env["no_proxy"] = ""
    return env


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command],
        cwd=ROOT,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _schema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("check-jsonschema"), "--builtin-schema", f"vendor.{schema}", *files)


def _zizmor(*files: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        _tool("zizmor"),
        "--offline",
        "--persona=pedantic",
        f"--config={ZIZMOR_CONFIG}",
        "--format=plain",
        *files,
    )


def _shellcheck(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("shellcheck"), *args)


# GitHub's schemas


def test_every_workflow_and_caller_matches_githubs_workflow_schema():
    result = _schema("github-workflows", *ALL_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_every_action_file_matches_githubs_action_schema(tmp_path):
    # A known-good action first, so the schema is shown to apply even while the repository
    # itself has no action.yml.
    (tmp_path / "action.yml").write_text(SAMPLE_ACTION, encoding="utf-8")
    result = _schema("github-actions", tmp_path / "action.yml", *ACTION_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schemas_report_a_wrong_permission_and_an_action_without_runs(tmp_path):
    broken = (WORKFLOWS / "inbound-plan.yml").read_text(encoding="utf-8")
    broken = broken.replace("pull-requests: write", "pull-request: write")
    (tmp_path / "broken.yml").write_text(broken, encoding="utf-8")
    workflow = _schema("github-workflows", tmp_path / "broken.yml")
    assert workflow.returncode == 1
    assert "broken.yml::$.jobs.plan" in workflow.stdout
    (tmp_path / "action.yml").write_text(SAMPLE_ACTION.split("runs:")[0], encoding="utf-8")
    action = _schema("github-actions", tmp_path / "action.yml")
    assert action.returncode == 1
    assert "'runs' is a required property" in action.stdout


# zizmor


def test_zizmor_finds_nothing_in_any_workflow_or_caller():
    result = _zizmor(*ALL_WORKFLOWS, *ACTION_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_reports_a_moving_tag_and_an_expression_in_a_script(tmp_path):
    broken = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    broken = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v7", broken)
    broken = broken.replace('gh release create "$TAG"', "gh release create ${{ github.ref_name }}")
    (tmp_path / "release.yml").write_text(broken, encoding="utf-8")
    result = _zizmor(tmp_path / "release.yml")
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout
    assert "template-injection" in result.stdout


def test_zizmor_config_requires_a_sha_for_every_action_and_explains_every_ignore():
    config = yaml.safe_load(ZIZMOR_CONFIG.read_text(encoding="utf-8"))
    policies = config["rules"]["unpinned-uses"]["config"]["policies"]
    assert policies == {"*": "hash-pin"}
    ignores = [
        line
        for line in ZIZMOR_CONFIG.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*- \S+\.ya?ml", line)
    ]
    assert all(re.search(r"\s# \S", line) for line in ignores), ignores


# shellcheck


class RunBlock(NamedTuple):
    where: str
    shell: str | None
    script: str


def _run_blocks(path: Path) -> Iterator[RunBlock]:
    workflow = load_workflow(path)
    default = workflow.get("defaults", {}).get("run", {}).get("shell")
    for job_name, job in workflow["jobs"].items():
        job_default = job.get("defaults", {}).get("run", {}).get("shell", default)
        for index, step in enumerate(job.get("steps", [])):
            if "run" in step:
                where = f"{path.name}:{job_name}:{step.get('name', index)}"
                yield RunBlock(where, step.get("shell", job_default), step["run"])


def _as_script(block: RunBlock) -> str:
    """The run: block as the runner would write it to a file, expressions made variables.

    An expression is a word GitHub pastes in before the shell runs; as `${GITHUB_EXPRESSION}`
    it parses, and shellcheck still sees how it is quoted. (zizmor reports expressions in
    scripts as template injection.)
    """
    if block.shell not in SHELLS:
        pytest.fail(f"{block.where}: no shellcheck setup for shell {block.shell!r}")
    shebang, options = SHELLS[block.shell]
    body = EXPRESSION.sub("${GITHUB_EXPRESSION}", block.script)
    return f"{shebang}\n{options}\n{body}"


def _shellcheck_blocks(tmp_path: Path, blocks: list[RunBlock]) -> subprocess.CompletedProcess[str]:
    files = []
    for number, block in enumerate(blocks):
        script = tmp_path / f"run-{number}.sh"
        script.write_text(_as_script(block), encoding="utf-8")
        files.append(script)
    return _shellcheck("--severity=style", *files)


ALL_RUN_BLOCKS = [block for path in ALL_WORKFLOWS for block in _run_blocks(path)]


def test_step_scripts_pass_shellcheck():
    scripts = sorted(SCRIPTS.glob("*.sh"))
    assert len(scripts) == 11  # 5 for one account, 6 for a fleet
    result = _shellcheck("-x", "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("block", ALL_RUN_BLOCKS, ids=lambda b: b.where[:60])
def test_inline_run_blocks_pass_shellcheck(block, tmp_path):
    result = _shellcheck_blocks(tmp_path, [block])
    assert result.returncode == 0, f"{block.where}:\n{result.stdout}"


def test_shellcheck_reports_an_unquoted_expression_and_variable_in_a_run_block(tmp_path):
    workflow = tmp_path / "broken.yml"
    steps = [{"run": 'rm -rf $OUT/${{ inputs.name }}\ntest -n "$CONFIG" || exit 1'}]
    job = {"runs-on": "ubuntu-latest", "steps": steps}
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"x": job}}), encoding="utf-8")
    [block] = _run_blocks(workflow)
    result = _shellcheck_blocks(tmp_path, [block])
    assert result.returncode == 1
    # SC2086, unquoted: once for $OUT, once for the expression.
    assert len(re.findall(r"\^-*\^ SC2086", result.stdout)) == 2, result.stdout
    assert "rm -rf $OUT/${GITHUB_EXPRESSION}" in result.stdout


def test_run_blocks_are_checked_with_the_shell_they_run_in():
    plain, bash = RunBlock("a", None, "x"), RunBlock("b", "bash", "x")
    assert _as_script(plain).splitlines()[:2] == ["#!/usr/bin/env bash", "set -e"]
    assert _as_script(bash).splitlines()[:2] == ["#!/usr/bin/env bash", "set -eo pipefail"]
    assert _as_script(RunBlock("c", "sh", "x")).startswith("#!/bin/sh\n")


# Every action pinned to a commit


class Uses(NamedTuple):
    where: str
    ref: str
    comment: str


def _uses_lines(path: Path) -> list[Uses]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if match := USES_LINE.match(line):
            where = f"{path.relative_to(ROOT)}:{number}"
            found.append(Uses(where, match["ref"], (match["comment"] or "").strip()))
    return found


def _uses_in_yaml(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "uses" and isinstance(value, str):
                yield value
            else:
                yield from _uses_in_yaml(value)
    elif isinstance(document, list):
        for item in document:
            yield from _uses_in_yaml(item)


def _unpinned(uses: Uses) -> str | None:
    """Why this `uses:` is not pinned to a commit with its version named, or None."""
    if uses.ref.startswith("./"):
        return None  # this repository's own files, at the caller's commit
    if not SHA_PINNED.fullmatch(uses.ref):
        return "not a full commit SHA"
    if not VERSION_COMMENT.search(uses.comment):
        return "no version in a trailing comment (`# vX.Y.Z`)"
    return None


@pytest.mark.parametrize("path", PINNED_FILES, ids=_names(PINNED_FILES))
def test_every_uses_is_pinned_to_a_commit_with_its_version_in_a_comment(path):
    found = _uses_lines(path)
    # The line scan sees every `uses:` the YAML has (none is written in a form it would miss).
    assert sorted(u.ref for u in found) == sorted(_uses_in_yaml(yaml.safe_load(path.read_text())))
    assert found, "a workflow with no action"
    problems = [f"{u.where}: {u.ref}: {why}" for u in found if (why := _unpinned(u))]
    assert problems == []


def test_one_commit_per_action_and_version_across_all_files():
    pins: dict[str, set[tuple[str, str]]] = {}
    for uses in (u for path in PINNED_FILES for u in _uses_lines(path)):
        action, sha = uses.ref.split("@")
        pins.setdefault(action, set()).add((sha, uses.comment))
    assert {action: len(versions) for action, versions in pins.items()} == dict.fromkeys(pins, 1)


def test_the_pin_check_rejects_tags_branches_and_short_shas():
    def why(ref: str, comment: str = "v1.2.3") -> str | None:
        return _unpinned(Uses("x", ref, comment))

    assert why("actions/checkout@v4") == "not a full commit SHA"
    assert why("actions/checkout@main") == "not a full commit SHA"
    assert why("actions/checkout@3d3c42e") == "not a full commit SHA"
    assert (
        why("actions/checkout@" + "a" * 40, "") == "no version in a trailing comment (`# vX.Y.Z`)"
    )
    assert why("org/repo/.github/workflows/x.yml@" + "a" * 40) is None
    assert why("./.github/actions/local") is None


# No Node.js


def _make_dry_run(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run in a fresh clone (-B: as if nothing was built)."""
    make = shutil.which("make")
    assert make is not None
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        [make, "-n", "-B", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_make_test_and_ci_need_no_nodejs(tmp_path):
    commands = _make_dry_run("test", tmp_path)
    assert "pip install --quiet -e '.[dev,sandbox]'" in commands
    assert "pytest -q" in commands
    assert not re.search(r"\b(npm|npx|node)\b", commands), commands
    assert not (ROOT / ".github" / "lint").exists()
    for path in ALL_WORKFLOWS:
        for job, step in workflow_steps(load_workflow(path)):
            assert "setup-node" not in step.get("uses", ""), (path.name, job)
