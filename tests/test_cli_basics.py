from __future__ import annotations

import subprocess
import sys

import pytest

from inbound_sync import __version__


def test_version_prints_and_exits_zero(run_cli):
    result = run_cli("--version")
    assert result.code == 0
    assert __version__ in result.out


def test_unknown_option_exits_1_not_2(run_cli):
    result = run_cli("validate", "--no-such-flag")
    assert result.code == 1
    assert "No such option" in result.err


COMMANDS = [
    "validate",
    "schema",
    "plan",
    "drift",
    "apply",
    "list",
    "import",
    "sandbox",
    "sandbox serve",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(run_cli, command):
    result = run_cli(*command.split(), "--help")
    assert result.code == 0
    assert "Usage: inbound-sync" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--format", "xml"],
        ["apply", "--concurrency", "0"],
        ["sandbox", "serve", "--seed", "/no/such/seed.yaml"],
        ["no-such-command"],
        ["plan", "--out"],
    ],
)
def test_usage_errors_exit_1_never_2(run_cli, argv):
    result = run_cli(*argv)
    assert result.code == 1
    assert "Error:" in result.err
    assert "Traceback" not in result.err


def test_module_entry_point_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "inbound_sync", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert __version__ in result.stdout
