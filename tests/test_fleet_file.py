"""The fleet file: strict like the config language, errors at file:line, never a key inside."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from inbound_sync.errors import ConfigError, UsageError
from inbound_sync.fleet import load_fleet, system_of
from inbound_sync.fleet.keys import connections

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fleet" / "fleet.yaml"
SCHEMA = json.loads((ROOT / "schemas" / "fleet.schema.json").read_text())

GOOD = """\
version: 1
targets:
  prod:
    api_url: https://api.example.com
    api_key_env: KEY_PROD
    config: [prod/]
  staging:
    api_url: https://api.example.com/
    api_key_file: keys/staging.key
    config: [staging/, shared.yaml]
"""


def errors(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_fleet(str(path))
    return str(caught.value).replace(str(path), "fleet.yaml")


def test_targets_are_read_with_paths_relative_to_the_fleet_file(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    prod, staging = fleet.targets
    assert (prod.name, prod.key_env, prod.key_file) == ("prod", "KEY_PROD", None)
    assert prod.config == (str(tmp_path / "prod"),)
    assert staging.config == (str(tmp_path / "staging"), str(tmp_path / "shared.yaml"))
    assert staging.key_file == str(tmp_path / "keys" / "staging.key")
    assert staging.api_url == "https://api.example.com"
    assert prod.source == f"{tmp_path / 'fleet.yaml'}:3"


def test_a_fleet_file_in_the_working_directory_keeps_its_paths_short(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("fleet.yaml").write_text(GOOD)
    assert load_fleet("fleet.yaml").targets[0].config == ("prod",)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://api.example.com", "https://API.example.com:443/v2", True),
        ("https://api.example.com", "https://api.example.com.", True),
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787/", True),
        ("https://api.example.com", "http://api.example.com", False),
        ("https://api.example.com", "https://api.example.com:8443", False),
        ("https://a.example.com", "https://b.example.com", False),
    ],
)
def test_a_system_is_scheme_host_and_port(a, b, same):
    assert (system_of(a) == system_of(b)) is same


def test_every_problem_is_reported_at_its_line(tmp_path):
    text = """\
version: 1
targets:
  prod:
    api_url: https://api.example.com
    api_key_env: KEY_PROD
    confg: [prod/]
  Prod-2:
    api_url: https://api.example.com
    api_key_env: KEY_2
    config: [p2/]
  staging:
    api_url: ftp://example.com
    api_key_env: KEY_STAGING
    config: []
  prod:
    api_url: https://other.example.com
"""
    assert errors(tmp_path, text) == (
        "6 errors in the config:\n"
        "  fleet.yaml:3: targets.prod.config: is required\n"
        "  fleet.yaml:6: targets.prod.confg: unknown key; did you mean 'config'?\n"
        "  fleet.yaml:7: targets: target name 'Prod-2' must be lower case letters, digits and -,"
        " starting with a letter or digit\n"
        "  fleet.yaml:12: targets.staging.api_url: malformed API URL 'ftp://example.com':"
        " expected https://host[:port][/path]\n"
        "  fleet.yaml:14: targets.staging.config: must not be empty\n"
        "  fleet.yaml:15: duplicate key 'prod' (first defined on line 3)"
    )


SECRET = "sk-live-DO-NOT-SHOW-4f2a"


@pytest.mark.parametrize("key", ["api_key", "token", "API_SECRET"])
def test_a_key_written_inline_is_refused_without_showing_it(tmp_path, key):
    text = GOOD.replace(
        "    api_key_env: KEY_PROD\n", f"    api_key_env: KEY_PROD\n    {key}: {SECRET}\n"
    )
    message = errors(tmp_path, text)
    assert f"fleet.yaml:6: targets.prod.{key}: a fleet file never holds a key" in message
    assert "api_key_env" in message
    assert "DO-NOT-SHOW" not in message


def test_a_key_in_place_of_a_variable_name_is_refused_without_showing_it(tmp_path):
    message = errors(tmp_path, GOOD.replace("api_key_env: KEY_PROD", f"api_key_env: {SECRET}"))
    assert (
        "fleet.yaml:5: targets.prod.api_key_env: must be the name of an environment variable"
        in message
    )
    assert "DO-NOT-SHOW" not in message


@pytest.mark.parametrize(
    "change",
    [
        ("    api_key_env: KEY_PROD\n", ""),
        ("    api_key_env: KEY_PROD\n", "    api_key_env: KEY_PROD\n    api_key_file: k\n"),
    ],
)
def test_a_target_has_exactly_one_source_of_its_key(tmp_path, change):
    message = errors(tmp_path, GOOD.replace(*change))
    assert "fleet.yaml:3: targets.prod: needs exactly one of api_key_env" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "fleet.yaml: is empty; expected version: 1"),
        ("- a\n", "fleet.yaml:1: must be a mapping with version: 1 and targets: at the top"),
        ("version: 1\n", "fleet.yaml:1: targets: is required"),
        ("version: 1\ntargets: {}\n", "fleet.yaml:2: targets: must not be empty"),
        ("version: 2\ntargets: {}\n", "fleet.yaml:1: version: Input should be 1"),
        ("version: true\ntargets: {}\n", "fleet.yaml:1: version: must be the integer 1, not True"),
        ("version: 1\ntargets: [\n", "fleet.yaml:3: invalid YAML"),
    ],
)
def test_malformed_files(tmp_path, text, expected):
    assert expected in errors(tmp_path, text)


def test_two_targets_of_one_system_reading_the_same_key_are_refused(tmp_path):
    text = GOOD.replace("api_key_file: keys/staging.key", "api_key_env: KEY_PROD")
    assert errors(tmp_path, text) == (
        "1 error in the config:\n  fleet.yaml:7: targets.staging: reads its key from the same "
        "variable KEY_PROD as target prod (fleet.yaml:3) on the same system: one account "
        "cannot be two targets"
    )


def test_the_same_variable_on_two_systems_is_allowed(tmp_path):
    text = GOOD.replace("api_key_file: keys/staging.key", "api_key_env: KEY_PROD").replace(
        "https://api.example.com/", "https://eu.example.com"
    )
    (tmp_path / "fleet.yaml").write_text(text)
    assert len(load_fleet(str(tmp_path / "fleet.yaml")).targets) == 2


def test_a_missing_fleet_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no fleet file"):
        load_fleet(str(tmp_path / "nowhere.yaml"))


def test_selecting_an_unknown_target_names_the_choices(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    assert [t.name for t in fleet.select(["staging"])] == ["staging"]
    assert fleet.select([]) == fleet.targets
    with pytest.raises(UsageError, match=r"no target 'stagin' in .*; did you mean 'staging'"):
        fleet.select(["stagin"])
    with pytest.raises(UsageError, match=r"no target 'zzz' .*\(targets: prod, staging\)"):
        fleet.select(["zzz"])


def test_keys_come_from_the_variable_or_the_file(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "staging.key").write_text("key-staging\n")
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    found = connections(fleet.targets, allow_insecure_http=False, environ={"KEY_PROD": "key-p"})
    assert found["prod"].api_key.reveal() == "key-p"
    assert found["staging"].api_key.reveal() == "key-staging"


def test_every_target_reads_the_settings_one_account_reads(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    environ = {
        "KEY_PROD": "key-p",
        "INBOUND_SYNC_API_KEY": "not-this-one",
        "INBOUND_SYNC_REQUEST_DEADLINE": "7",
        "INBOUND_SYNC_MAX_RESPONSE_BYTES": "1000",
    }
    found = connections(fleet.select(["prod"]), allow_insecure_http=False, environ=environ)
    assert found["prod"].api_key.reveal() == "key-p"
    assert found["prod"].timeouts.total == 7
    assert found["prod"].max_response_bytes == 1000


def test_every_missing_key_is_named_with_its_target_and_variable(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    with pytest.raises(UsageError) as caught:
        connections(fleet.targets, allow_insecure_http=False, environ={})
    message = str(caught.value)
    assert "target prod: the key variable KEY_PROD is not set" in message
    assert "target staging: cannot read the API key file" in message


def test_only_the_targets_of_the_run_need_their_keys(tmp_path):
    (tmp_path / "fleet.yaml").write_text(GOOD)
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    found = connections(
        fleet.select(["prod"]), allow_insecure_http=False, environ={"KEY_PROD": "k"}
    )
    assert list(found) == ["prod"]


def test_plain_http_to_a_remote_target_needs_the_flag(tmp_path):
    (tmp_path / "fleet.yaml").write_text(
        GOOD.replace("https://api.example.com\n", "http://api.example.com\n", 1)
    )
    fleet = load_fleet(str(tmp_path / "fleet.yaml"))
    environ = {"KEY_PROD": "k"}
    with pytest.raises(UsageError, match="target prod: refusing plain http://"):
        connections(fleet.select(["prod"]), allow_insecure_http=False, environ=environ)
    assert connections(fleet.select(["prod"]), allow_insecure_http=True, environ=environ)


# -- the JSON Schema ----------------------------------------------------------------------


def test_committed_schema_matches_the_models(run_cli):
    result = run_cli("schema", "--fleet")
    assert result.code == 0
    committed = (ROOT / "schemas" / "fleet.schema.json").read_text()
    assert result.out == committed, "run: inbound-sync schema --fleet > schemas/fleet.schema.json"


def test_the_example_fleet_and_the_good_file_validate_against_the_schema():
    jsonschema.validate(yaml.safe_load(EXAMPLE.read_text()), SCHEMA)
    jsonschema.validate(yaml.safe_load(GOOD), SCHEMA)


@pytest.mark.parametrize(
    "change",
    [
        ("api_key_env: KEY_PROD", f"api_key: {SECRET}"),
        ("api_key_env: KEY_PROD", "api_key_env: KEY_PROD\n    api_key_file: k"),
        ("api_key_env: KEY_PROD", "api_key_env: 9-not-a-name"),
        ("  prod:", "  Prod:"),
        ("config: [prod/]", "config: []"),
        ("config: [prod/]", "confg: [prod/]"),
        ("version: 1", "version: 2"),
        ("https://api.example.com\n", "ftp://api.example.com\n"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(tmp_path, change):
    text = GOOD.replace(*change, 1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), SCHEMA)
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_fleet(str(path))
