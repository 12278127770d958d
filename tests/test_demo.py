"""`make demo` runs examples/demo.py; run it here so the quick start never rots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_whole_loop():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    steps = [
        "Plan: 2 to assign",
        "Converged: the account matches the desired state.",
        "In sync: the account matches git",
        "changed out of band: account has assistant Sales Assistant, git has assistant support",
        "Demo complete.",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, out
    assert positions == sorted(positions)


def test_make_demo_installs_the_tool_and_its_sandbox_but_no_dev_tools(tmp_path):
    make = shutil.which("make")
    assert make is not None
    # -n: print the commands; -B: all of them, as in a fresh clone with no .venv yet. Without
    # the variables of a `make test` this may run under, which would make it a sub-make.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    commands = subprocess.run(
        [make, "-n", "-B", "--no-print-directory", "demo", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in commands.splitlines() if "pip install" in line]
    assert len(installs) == 1, commands
    assert installs[0].endswith("pip install --quiet -e '.[sandbox]'")
    assert commands.rstrip().endswith("python examples/demo.py")
