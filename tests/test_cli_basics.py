from __future__ import annotations

from inbound_sync import __version__


def test_version_prints_and_exits_zero(run_cli):
    result = run_cli("--version")
    assert result.code == 0
    assert __version__ in result.out


def test_unknown_option_exits_1_not_2(run_cli):
    result = run_cli("validate", "--no-such-flag")
    assert result.code == 1
    assert "No such option" in result.err
