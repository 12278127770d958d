"""`validate --fleet`: every target's config offline, and a number in one account per system."""

from __future__ import annotations

from pathlib import Path

from fleet_support import config_text, target, write_fleet

ROOT = Path(__file__).resolve().parents[1]
ONE = "https://api.example.com"
OTHER = "https://eu.example.com"


def test_the_example_fleet_validates(run_cli):
    result = run_cli("validate", "--fleet", str(ROOT / "examples" / "fleet" / "fleet.yaml"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith("fleet.yaml, 3 targets on 1 system")
    assert lines[1].split()[:4] == ["brand-a", "1", "file,", "2"]
    assert [line.split()[0] for line in lines[1:]] == ["brand-a", "brand-b", "staging"]


def test_a_number_present_in_two_targets_of_one_system_names_both_lines(tmp_path, run_cli):
    fleet = write_fleet(
        tmp_path,
        {"a": target(ONE, "KA", "a/"), "b": target(ONE, "KB", "b/")},
        {"a": config_text(["+918044319240"]), "b": config_text(["+918044319241", "080 4431 9240"])},
    )
    result = run_cli("validate", "--fleet", str(fleet))
    assert result.code == 1
    a, b = tmp_path / "a" / "inbound.yaml", tmp_path / "b" / "inbound.yaml"
    assert (
        f"  {b}:7: +91 80 4431 9240 is declared present in target b and in target a at {a}:5; "
        "both are on https://api.example.com:443, where a number can be held by one account only"
    ) in result.err
    assert result.out == ""


def test_targets_on_different_systems_may_declare_the_same_number(tmp_path, run_cli):
    fleet = write_fleet(
        tmp_path,
        {"a": target(ONE, "KA", "a/"), "b": target(OTHER, "KB", "b/")},
        {"a": config_text(["+918044319240"]), "b": config_text(["+918044319240"])},
    )
    result = run_cli("validate", "--fleet", str(fleet))
    assert result.code == 0, result.err
    assert "2 targets on 2 systems" in result.out


def test_absent_in_one_target_and_present_in_another_is_no_conflict(tmp_path, run_cli):
    fleet = write_fleet(
        tmp_path,
        {"a": target(ONE, "KA", "a/"), "b": target(ONE, "KB", "b/")},
        {"a": config_text(["-+918044319240"]), "b": config_text(["+918044319240"])},
    )
    assert run_cli("validate", "--fleet", str(fleet)).code == 0


def test_config_errors_name_their_target(tmp_path, run_cli):
    fleet = write_fleet(
        tmp_path,
        {"a": target(ONE, "KA", "a/"), "b": target(ONE, "KB", "b/")},
        {"a": config_text(["+918044319240"]), "b": config_text(["not a number"])},
    )
    result = run_cli("validate", "--fleet", str(fleet))
    assert result.code == 1
    assert f"{tmp_path / 'b' / 'inbound.yaml'}:5: numbers[0].number:" in result.err
    assert result.err.rstrip().endswith("(target b)")


def test_target_restricts_the_run_to_the_named_targets(tmp_path, run_cli):
    fleet = write_fleet(
        tmp_path,
        {"a": target(ONE, "KA", "a/"), "b": target(ONE, "KB", "b/")},
        {"a": config_text(["+918044319240"]), "b": config_text(["not a number"])},
    )
    result = run_cli("validate", "--fleet", str(fleet), "--target", "a")
    assert result.code == 0, result.err
    assert "1 target on 1 system" in result.out


def test_no_key_is_needed_to_validate(tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("KA", raising=False)
    fleet = write_fleet(tmp_path, {"a": target(ONE, "KA", "a/")}, {"a": config_text([])})
    assert run_cli("validate", "--fleet", str(fleet)).code == 0


def test_flags_that_belong_to_a_single_account_are_refused(tmp_path, run_cli):
    fleet = write_fleet(tmp_path, {"a": target(ONE, "KA", "a/")}, {"a": config_text([])})
    result = run_cli("validate", "--fleet", str(fleet), "inbound.yaml")
    assert result.code == 1
    assert "give no PATHS" in result.err
    result = run_cli("validate", "--target", "a")
    assert result.code == 1
    assert "give --fleet FILE too" in result.err


def test_a_missing_config_directory_is_an_error_of_its_target(tmp_path, run_cli):
    fleet = write_fleet(tmp_path, {"a": target(ONE, "KA", "gone/")})
    result = run_cli("validate", "--fleet", str(fleet))
    assert result.code == 1
    assert f"{tmp_path / 'gone'}: no such file or directory (target a)" in result.err
