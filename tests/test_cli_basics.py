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
    "history",
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


def test_ctrl_c_inside_a_command_exits_130(run_cli, monkeypatch):
    def interrupted(_paths):
        raise KeyboardInterrupt

    monkeypatch.setattr("inbound_sync.cli.validate.run", interrupted)
    result = run_cli("validate")
    assert result.code == 130
    assert "Interrupted." in result.err


def test_end_of_input_at_a_prompt_aborts_with_1(run_cli, monkeypatch):
    def no_input(_paths):
        raise EOFError

    monkeypatch.setattr("inbound_sync.cli.validate.run", no_input)
    result = run_cli("validate")
    assert result.code == 1
    assert "Aborted." in result.err


def test_an_unexpected_error_is_reported_without_a_traceback(run_cli, monkeypatch):
    def broken(_paths):
        raise RuntimeError("boom")

    monkeypatch.setattr("inbound_sync.cli.validate.run", broken)
    monkeypatch.delenv("INBOUND_SYNC_TRACEBACK", raising=False)
    result = run_cli("validate")
    assert result.code == 1
    assert "Internal error: RuntimeError: boom" in result.err
    assert "Traceback" not in result.err


def test_run_async_hands_back_the_result_and_the_error() -> None:
    from inbound_sync.cli.common import run_async

    async def value() -> tuple[int, ...]:
        return tuple(range(3))

    async def failure() -> None:
        raise LookupError("from the coroutine")

    assert run_async(value()) == (0, 1, 2)
    with pytest.raises(LookupError, match="from the coroutine"):
        run_async(failure())
