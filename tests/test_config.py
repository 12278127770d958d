from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbound_sync import config
from inbound_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
SALES = "de305d54-75b4-431b-adb2-eb6b9e546014"
CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"

BASIC = f"""\
version: 1
assistants:
  support: {SUPPORT}
strategies:
  crm: {CRM}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
    strategy: crm
  - number: "080 4431 9241"
    assistant: null
    protect: true
  - number: "+918044319242"
    ensure: absent
"""


def errors_of(paths: list[Path]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config.load([str(p) for p in paths])
    return [issue.format() for issue in info.value.issues]


def test_basic_file_resolves_aliases_and_normalizes(write_yaml):
    state = config.load([str(write_yaml("inbound.yaml", BASIC))])
    first, second, third = state.numbers
    assert (first.normalized, first.assistant_id, first.strategy_id) == (
        "918044319240",
        SUPPORT,
        CRM,
    )
    assert (second.normalized, second.assistant_id, second.ensure, second.protect) == (
        "918044319241",
        None,
        "present",
        True,
    )
    assert (third.ensure, third.protect) == ("absent", False)
    assert first.source.endswith("inbound.yaml:7")
    assert state.unmanaged == "ignore"
    assert state.safety == config.SafetyPolicy(10, 30.0)


def test_literal_uuid_needs_no_alias(write_yaml):
    path = write_yaml(
        "a.yaml", f'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: {SALES}\n'
    )
    assert config.load([str(path)]).numbers[0].assistant_id == SALES


def test_unknown_alias_names_file_line_and_field(write_yaml):
    text = BASIC.replace("strategy: crm", "strategy: crn")
    path = write_yaml("inbound.yaml", text)
    assert errors_of([path]) == [
        f"{path}:9: numbers[0].strategy: unknown strategy alias 'crn': not under strategies "
        "and not a UUID; did you mean 'crm'?"
    ]


def test_alias_value_must_be_uuid(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nassistants:\n  support: not-an-id\n")
    assert errors_of([path]) == [
        f"{path}:3: assistants.support: 'not-an-id' is not an id (ids are UUIDs)"
    ]


def test_duplicate_yaml_key_is_an_error(write_yaml):
    path = write_yaml("a.yaml", BASIC + "unmanaged: ignore\nunmanaged: delete\n")
    assert errors_of([path]) == [f"{path}:16: duplicate key 'unmanaged' (first defined on line 15)"]


def test_unknown_key_suggests_the_close_one(write_yaml):
    path = write_yaml("a.yaml", BASIC.replace("    strategy: crm", "    stratgy: crm"))
    assert errors_of([path]) == [
        f"{path}:9: numbers[0].stratgy: unknown key; did you mean 'strategy'?"
    ]


def test_assistant_is_required_when_present(write_yaml):
    path = write_yaml("a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n')
    assert errors_of([path]) == [
        f"{path}:3: numbers[0].assistant: is required when ensure is present "
        "(write null to keep the number detached)"
    ]


def test_unquoted_number_is_an_error_with_a_hint(write_yaml):
    path = write_yaml(
        "a.yaml", "version: 1\nnumbers:\n  - number: +918044319240\n    assistant: null\n"
    )
    [message] = errors_of([path])
    assert message.startswith(f"{path}:3: numbers[0].number: must be a quoted string")


def test_invalid_number_and_letters_are_errors(write_yaml):
    text = 'version: 1\nnumbers:\n  - number: "12"\n    assistant: null\n  - number: "1800FLOWERS"\n    assistant: null\n'
    path = write_yaml("a.yaml", text)
    found = errors_of([path])
    assert [m.split(": ")[0] for m in found] == [f"{path}:3", f"{path}:5"]
    assert "letters" in found[1]


def test_every_error_of_a_run_is_reported_together(write_yaml):
    bad_structure = write_yaml("a.yaml", "version: 2\n")
    bad_entry = write_yaml(
        "b.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    asistant: x\n'
    )
    found = errors_of([bad_structure, bad_entry])
    assert len(found) == 2
    assert found[0].startswith(f"{bad_structure}:1: version:")
    assert found[1].startswith(f"{bad_entry}:4: numbers[0].asistant: unknown key")


def test_one_bad_entry_does_not_hide_the_problems_of_the_others(write_yaml):
    text = 'version: 1\nnumbers:\n  - number: +918044319240\n    assistant: null\n  - number: "+918044319241"\n    assistant: nobody\n'
    path = write_yaml("a.yaml", text)
    found = errors_of([path])
    assert [m.split(": ")[0] + ": " + m.split(": ")[1] for m in found] == [
        f"{path}:3: numbers[0].number",
        f"{path}:6: numbers[1].assistant",
    ]


def test_an_alias_table_that_cannot_be_read_qualifies_the_unknown_alias_errors(write_yaml):
    broken = write_yaml("a.yaml", "version: 1\nassistants: [support]\n")
    user = write_yaml(
        "b.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: support\n'
    )
    found = errors_of([broken, user])
    assert len(found) == 2
    assert found[0].startswith(f"{broken}:2: assistants:")
    assert found[1] == (
        f"{user}:4: numbers[0].assistant: unknown assistant alias 'support': not under "
        "assistants and not a UUID (unless a file whose aliases could not be read defines it)"
    )


def test_duplicate_number_across_files_names_both_places(write_yaml):
    a = write_yaml(
        "a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: null\n'
    )
    b = write_yaml(
        "b.yaml", 'version: 1\nnumbers:\n  - number: "080-4431-9240"\n    assistant: null\n'
    )
    assert errors_of([a, b]) == [
        f"{b}:3: numbers[0].number: +918044319240 is already declared at {a}:3"
    ]


def test_alias_with_two_ids_across_files_is_an_error(write_yaml):
    a = write_yaml("a.yaml", f"version: 1\nassistants:\n  support: {SUPPORT}\n")
    b = write_yaml("b.yaml", f"version: 1\nassistants:\n  support: {SALES}\n")
    assert errors_of([a, b]) == [
        f"{b}:3: assistants.support: alias 'support' is {SALES}, but {SUPPORT} at {a}:3"
    ]


def test_settings_set_in_two_files_must_agree(write_yaml):
    a = write_yaml("a.yaml", "version: 1\nunmanaged: delete\ndefaults:\n  region: IN\n")
    b = write_yaml("b.yaml", "version: 1\nunmanaged: detach\ndefaults:\n  region: IN\n")
    assert errors_of([a, b]) == [f"{b}:2: unmanaged: conflicts with the value set at {a}:2"]


def test_settings_that_agree_merge(write_yaml):
    a = write_yaml("a.yaml", "version: 1\nunmanaged: delete\nsafety: {max_destructive: 3}\n")
    b = write_yaml("b.yaml", "version: 1\nunmanaged: delete\n")
    state = config.load([str(a), str(b)])
    assert (state.unmanaged, state.safety.max_destructive) == ("delete", 3)


def test_default_region_applies_to_every_file(write_yaml):
    a = write_yaml("a.yaml", "version: 1\ndefaults: {region: GB}\n")
    b = write_yaml(
        "b.yaml", 'version: 1\nnumbers:\n  - number: "020 7946 0958"\n    assistant: null\n'
    )
    assert config.load([str(a), str(b)]).numbers[0].normalized == "442079460958"


def test_per_entry_region_overrides_default(write_yaml):
    text = (
        'version: 1\nnumbers:\n  - number: "020 7946 0958"\n    region: GB\n    assistant: null\n'
    )
    assert config.load([str(write_yaml("a.yaml", text))]).numbers[0].normalized == "442079460958"


def test_unknown_region_is_an_error(write_yaml):
    path = write_yaml("a.yaml", "version: 1\ndefaults: {region: XX}\n")
    [message] = errors_of([path])
    assert message.startswith(f"{path}:2: defaults.region: unknown region 'XX'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty; expected a mapping with version: 1"),
        ("- 1\n- 2\n", "must be a mapping with version: 1 at the top"),
        ("numbers: []\n", "version: is required"),
        ("version: 1\nnumbers: [\n", "invalid YAML"),
    ],
)
def test_malformed_files_are_reported(write_yaml, text, expected):
    path = write_yaml("a.yaml", text)
    [message] = errors_of([path])
    assert expected in message
    assert message.startswith(str(path))


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes("\ufeffversion: 1\n".encode())
    assert config.load([str(path)]).numbers == ()


def test_non_utf8_file_is_reported(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"version: 1\n# \xff\xfe\n")
    assert errors_of([path]) == [f"{path}: is not UTF-8 text"]


def test_directories_are_read_recursively_and_sorted(write_yaml, tmp_path):
    write_yaml(
        "conf/b/two.yml", 'version: 1\nnumbers:\n  - number: "+918044319241"\n    assistant: null\n'
    )
    write_yaml(
        "conf/a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: null\n'
    )
    write_yaml("conf/notes.txt", "not yaml")
    state = config.load([str(tmp_path / "conf")])
    assert [Path(f).name for f in state.files] == ["a.yaml", "two.yml"]
    assert len(state.numbers) == 2


def test_missing_path_and_empty_directory_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    found = errors_of([tmp_path / "missing.yaml", tmp_path / "empty"])
    assert found == [
        f"{tmp_path / 'empty'}: directory holds no *.yaml or *.yml files",
        f"{tmp_path / 'missing.yaml'}: no such file or directory",
    ]


def test_default_path_is_inbound_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbound.yaml").write_text("version: 1\n")
    assert config.load([]).files == ("inbound.yaml",)


@pytest.mark.parametrize("target", ["inbound.yaml", "every-key.yaml", "teams"])
def test_examples_validate(target):
    state = config.load([str(ROOT / "examples" / target)])
    assert state.numbers


def test_committed_schema_matches_the_models(run_cli):
    result = run_cli("schema")
    assert result.code == 0
    committed = (ROOT / "schemas" / "inbound-sync.schema.json").read_text()
    assert result.out == committed, "run: inbound-sync schema > schemas/inbound-sync.schema.json"
    assert json.loads(committed)["properties"]["version"]["const"] == 1


def test_examples_validate_against_the_json_schema():
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "schemas" / "inbound-sync.schema.json").read_text())
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if "tenants" in document or "targets" in document:  # sandbox seeds, fleet files
            continue
        jsonschema.validate(document, schema)


def test_schema_requires_assistant_unless_absent():
    import jsonschema

    schema = config.json_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "numbers": [{"number": "+918044319240"}]}, schema)
    jsonschema.validate(
        {"version": 1, "numbers": [{"number": "+918044319240", "ensure": "absent"}]}, schema
    )


def test_validate_command_prints_summary(run_cli, write_yaml):
    result = run_cli("validate", str(write_yaml("inbound.yaml", BASIC)))
    assert result.code == 0
    assert (
        result.out
        == "OK: 1 file, 3 numbers (2 present, 1 absent), 1 assistant alias, 1 strategy alias\n"
    )


def test_validate_command_reports_errors_without_traceback(run_cli, write_yaml):
    path = write_yaml("inbound.yaml", BASIC.replace("assistant: support", "assistant: nobody"))
    result = run_cli("validate", str(path))
    assert result.code == 1
    assert result.out == ""
    assert f"{path}:8: numbers[0].assistant: unknown assistant alias 'nobody'" in result.err
    assert "Traceback" not in result.err
