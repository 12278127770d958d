"""README's walkthroughs run as written: the sh blocks of "Try it on the sandbox" and "Adopt your
account" are extracted and run by bash against a sandbox on a loopback port.

Two substitutions only: the sandbox's port 8787 becomes a free one (8787 may be taken), and the
`sleep 2` that gives the server time to start becomes a wait until it answers (a loaded machine
can take longer).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import bind
from reliability_support import served

pytestmark = pytest.mark.socket

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Bounded: 30 s at most, then the script goes on and fails visibly.
WAIT = 'for _ in $(seq 300); do curl -s -o /dev/null "$INBOUND_SYNC_API_URL/" && break; sleep 0.1; done'


def sh_blocks(title: str) -> list[str]:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 3)
    section = README[start : end if end > 0 else None]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def free_port() -> int:
    listener = bind("127.0.0.1", 0)
    port: int = listener.getsockname()[1]
    listener.close()
    return port


def run_bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        # Whatever the script left running (the sandbox, if it failed before `kill %1`).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_SYNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    return tmp_path


def test_try_it_on_the_sandbox_runs_as_written(tmp_path):
    [block] = sh_blocks("Try it on the sandbox")
    assert block.count("sleep 2") == 1
    assert block.index("export INBOUND_SYNC_API_URL") < block.index("sandbox serve")
    script = block.replace("8787", str(free_port())).replace("sleep 2", WAIT)
    result = run_bash(script, workspace(tmp_path), clean_env())

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "3 mappings" in result.stdout
    assert "No changes. 3 unchanged, 0 unmanaged." in result.stdout
    assert "Drift: 1 number differs from git." in result.stdout
    assert "drift exited 2" in result.stdout
    assert "Converged: the account matches the desired state." in result.stdout
    assert "In sync: the account matches git" in result.stdout


def test_the_printed_drift_is_what_drift_prints(tmp_path):
    [block] = sh_blocks("Try it on the sandbox")
    script = block.replace("8787", str(free_port())).replace("sleep 2", WAIT)
    result = run_bash(script, workspace(tmp_path), clean_env())
    shown = re.search(r"`drift` prints:\n\n```\n(.*?)```", README, re.DOTALL)
    assert shown is not None
    assert shown[1] in result.stdout


def test_adopt_your_account_runs_as_written(tmp_path):
    [block] = sh_blocks("Adopt your account")
    app = create_app(seed=ROOT / "examples" / "sandbox-account.yaml")
    with served(app) as (_sandbox, url):
        env = clean_env()
        env["INBOUND_SYNC_API_URL"] = url
        env["INBOUND_SYNC_API_KEY"] = "sandbox-key-acme"
        result = run_bash(block, tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert "OK: 1 file, 3 numbers" in result.stdout
    assert "No changes. 3 unchanged, 0 unmanaged." in result.stdout
    assert (tmp_path / "inbound-sync.schema.json").is_file()
