"""Releases: the release workflow, the package it builds, the license, and how users install.

Nothing is published to a package index, so every install instruction installs from this
repository (a clone or a git URL), never `inbound-sync` by name: anyone could register that
name on an index and have the instruction install their code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from workflow_support import ROOT, WORKFLOWS, load_workflow, run_step, runner_env

RELEASE = WORKFLOWS / "release.yml"
# tomllib is Python 3.11+; the tests run on 3.10 too.
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
VERSION = re.search(r'^version = "([^"]+)"$', PYPROJECT, re.M)[1]  # type: ignore[index]
GIT_URL = "git+https://github.com/your-org/inbound-sync"
INSTALL = re.compile(r"\b(?:pipx|pip|python3? -m pip) install[ \t]+(?P<args>[^`\n]*)")


def _step(name_part: str) -> dict[str, Any]:
    [job] = load_workflow(RELEASE)["jobs"].values()
    [step] = [s for s in job["steps"] if name_part in s.get("name", "")]
    return step


# The release workflow


def test_release_runs_on_a_pushed_version_tag_with_write_access_to_contents_only():
    workflow = load_workflow(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    [checkout] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"] == {"persist-credentials": False}


def test_release_builds_checks_then_attaches_the_sdist_and_the_wheel():
    [job] = load_workflow(RELEASE)["jobs"].values()
    runs = [s["run"] for s in job["steps"] if "run" in s]
    build, check, create = runs
    assert '"build==' in build
    assert '"twine==' in build
    assert "python -m build --outdir dist ." in build
    assert "python -m twine check --strict dist/*" in build
    assert "dist/inbound_sync-$version-py3-none-any.whl" in check
    assert create.startswith('gh release create "$TAG" dist/* --verify-tag')
    env = _step("Create the GitHub release")["env"]
    assert env == {
        "TAG": "${{ github.ref_name }}",
        "GH_REPO": "${{ github.repository }}",
        "GH_TOKEN": "${{ github.token }}",
    }


def _check_tag(tmp_path: Path, tag: str, built: list[str]) -> Any:
    workspace = tmp_path / "workspace"
    (workspace / "dist").mkdir(parents=True)
    for name in built:
        (workspace / "dist" / name).write_bytes(b"")
    step = _step("tag names the version")
    script = tmp_path / "check.sh"
    script.write_text("set -eo pipefail\n" + step["run"], encoding="utf-8")
    return run_step(["bash", str(script)], runner_env(workspace, TAG=tag))


def test_release_refuses_a_tag_that_does_not_name_the_packaged_version(tmp_path):
    built = [f"inbound_sync-{VERSION}-py3-none-any.whl", f"inbound_sync-{VERSION}.tar.gz"]
    assert _check_tag(tmp_path / "ok", f"v{VERSION}", built).code == 0
    wrong = _check_tag(tmp_path / "wrong", "v9.9.9", built)
    assert wrong.code == 1
    assert "tag v9.9.9 does not match the version in pyproject.toml" in wrong.out
    assert f"inbound_sync-{VERSION}.tar.gz" in wrong.out


# The package


def test_the_mit_license_is_shipped_and_declared():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the inbound-sync authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    assert '\nlicense = "MIT"\nlicense-files = ["LICENSE"]\n' in PYPROJECT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel pip builds from the installable files, as the release builds it.

    Built from a copy, so the build leaves nothing in the working tree; pip fetches the build
    backend (setuptools) from the package index, or its cache.
    """
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", source / "src", ignore=junk)
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    done = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("*.whl")
    assert built.name == f"inbound_sync-{VERSION}-py3-none-any.whl"
    return zipfile.ZipFile(built)


def test_the_wheel_carries_the_license_metadata_and_the_command(wheel):
    info = f"inbound_sync-{VERSION}.dist-info"
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT\n" in metadata
    assert "License-File: LICENSE\n" in metadata
    assert "Description-Content-Type: text/markdown\n" in metadata
    assert metadata.split("\n\n", 1)[1].startswith("# inbound-sync\n")
    license_text = wheel.read(f"{info}/licenses/LICENSE").decode()
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "inbound-sync = inbound_sync.cli:entrypoint" in entry_points
    assert "inbound_sync/py.typed" in wheel.namelist()


# How users install


def _install_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [re.split(r"#|&&|;", m["args"])[0].strip() for m in INSTALL.finditer(readme)]


def _installs_from_this_repository(args: str) -> bool:
    if args in {".", "'.[sandbox]'", "-e '.[dev,sandbox]'"}:
        return True
    return f"@ {GIT_URL}@" in args or args.startswith(f"'{GIT_URL}@")


def test_readme_installs_inbound_sync_only_from_this_repository():
    commands = _install_commands()
    ours = [args for args in commands if "inbound-sync" in args or args.startswith(("'.", "."))]
    assert len(ours) >= 3, commands  # a clone, a git URL, the sandbox extra
    assert [args for args in ours if not _installs_from_this_repository(args)] == []
    assert any(GIT_URL in args for args in ours)
    # Anything else installed by name is a third-party tool, published by its authors.
    assert {args for args in commands if args not in ours} == {"pre-commit"}


def test_the_install_check_rejects_the_name_alone():
    assert not _installs_from_this_repository("'inbound-sync[sandbox]'")
    assert not _installs_from_this_repository("inbound-sync")
    assert _installs_from_this_repository(f"'inbound-sync[sandbox] @ {GIT_URL}@v0.1.0'")
