"""The pre-commit hook, as another repository uses it: pre-commit installs this project from git.

The hook repository is a git repository made from this working tree's installable files
(.pre-commit-hooks.yaml, pyproject.toml, README.md, LICENSE, src/), so uncommitted changes are
tested too.
pre-commit pip-installs it and its dependencies (from the package index, or pip's cache) into a
new virtualenv: once for `try-repo`, which always uses a temporary store, and once for `run`.
About 8 s each, without byte-compiling (18 s with it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow_support import ROOT, SALES, SUPPORT

HOOK = "inbound-sync-validate"
VALID = f"""\
version: 1
assistants:
  support: {SUPPORT}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
"""
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in (".pre-commit-hooks.yaml", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, repo / name)
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", repo / "src", ignore=junk)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hook repository under test")
    return repo


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory):
    """Run pre-commit with its own store, shared by the module so `run` builds its env once."""
    home = tmp_path_factory.mktemp("pre-commit-home")

    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
        # Byte-compiling phonenumbers' ~600 modules is most of an install's time; imports
        # work the same without it.
        env["PIP_COMPILE"] = "false"
        env.pop("GITHUB_STEP_SUMMARY", None)
        command = [sys.executable, "-m", "pre_commit", *args]
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    return run


@pytest.fixture
def user_repo(tmp_path) -> Path:
    repo = tmp_path / "routing"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


def write(repo: Path, name: str, text: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")


def test_manifest_offers_one_python_hook_that_validates_the_whole_config():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == HOOK
    assert hook["entry"] == "inbound-sync validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False


def test_try_repo_runs_the_hook_on_the_default_config(pre_commit, hook_repo, user_repo):
    write(user_repo, "inbound.yaml", VALID.replace("assistant: support", "assistant: suport"))
    failed = pre_commit(user_repo, "try-repo", str(hook_repo), HOOK, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "inbound-sync validate" in failed.stdout
    assert "Failed" in failed.stdout
    assert "inbound.yaml:6: numbers[0].assistant: unknown assistant alias 'suport'" in failed.stdout


def test_the_example_config_validates_a_config_directory(pre_commit, hook_repo, user_repo):
    example = yaml.safe_load((ROOT / "examples/pre-commit/pre-commit-config.yml").read_text())
    [entry] = example["repos"]
    assert entry["repo"] == "https://github.com/your-org/inbound-sync"
    assert re.fullmatch(r"[0-9a-f]{40}", entry["rev"]), "pinned to a commit, not a tag"
    entry.update(repo=str(hook_repo), rev=git(hook_repo, "rev-parse", "HEAD"))
    write(user_repo, ".pre-commit-config.yaml", yaml.safe_dump(example))
    shared = f"version: 1\nassistants:\n  support: {SUPPORT}\n  sales: {SALES}\n"
    write(user_repo, "inbound/_shared.yaml", shared)
    numbers = 'version: 1\nnumbers:\n  - number: "080 4431 9241"\n    assistant: sales\n'
    write(user_repo, "inbound/sales.yaml", numbers)
    write(user_repo, "README.md", "routing\n")

    ok = pre_commit(user_repo, "run", "--all-files")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout

    write(user_repo, "inbound/support.yaml", numbers)  # the same number in a second file
    duplicate = pre_commit(user_repo, "run", "--files", "inbound/support.yaml")
    assert duplicate.returncode == 1
    assert "is already declared at inbound/sales.yaml:3" in duplicate.stdout

    unrelated = pre_commit(user_repo, "run", "--files", "README.md")
    assert unrelated.returncode == 0
    assert "(no files to check)Skipped" in unrelated.stdout
