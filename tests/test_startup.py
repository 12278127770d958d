"""Start-up: --help and --version answer without importing what only commands need.

Commands import their modules when they run, so that the CLI starts in well under 150 ms; these
tests hold that structure in place (no timing is asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "httpx", "phonenumbers", "yaml", "asyncio", "starlette", "uvicorn")

# Runs the CLI in a fresh interpreter, then reports every module it imported.
PROBE = """
import json, sys
from inbound_sync.cli import main
code = main(sys.argv[1:])
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
raise SystemExit(code)
"""


def imported_by(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    marker = done.stderr.rsplit("MODULES ", 1)[1]
    return {name.split(".")[0] for name in json.loads(marker)}


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("plan", "--help"),
        ("apply", "--help"),
        ("sandbox", "serve", "--help"),
    ],
)
def test_help_and_version_import_no_heavy_module(argv):
    assert imported_by(*argv).isdisjoint(HEAVY)


def test_the_probe_sees_what_a_command_imports(tmp_path):
    # Guards the test above against passing vacuously: validate does load yaml and pydantic.
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    assert {"yaml", "pydantic", "phonenumbers"} <= imported_by("validate", str(config))


def test_a_small_config_imports_no_process_pool(tmp_path):
    # Worker processes are for large configs; a small one does not pay for importing them.
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    assert imported_by("validate", str(config)).isdisjoint({"multiprocessing", "concurrent"})
