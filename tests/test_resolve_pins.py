"""Merging and resolving config files: each issue with its file, line and field, and every setting
reaching the desired state."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound_sync import config
from inbound_sync.config import SafetyPolicy
from inbound_sync.config.resolve import Entry, did_you_mean, resolve, validate_document
from inbound_sync.config.source import read_yaml
from inbound_sync.errors import ConfigError, ConfigIssue

SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
SALES = "de305d54-75b4-431b-adb2-eb6b9e546014"
CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
OTHER = "0b0e1c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

ONE_NUMBER = f"""\
version: 1
assistants:
  support: {SUPPORT}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
"""


def issues_of(*paths: Path) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        config.load([str(p) for p in paths])
    return list(info.value.issues)


# The shape of a file


def test_numbers_that_is_not_a_list_is_reported_at_its_key(write_yaml):
    path = write_yaml("a.yaml", "version: 1\n\nnumbers:\n  number: '+918044319240'\n")
    assert issues_of(path) == [ConfigIssue(str(path), 3, "numbers", "must be a list of entries")]


def test_numbers_that_is_not_a_list_does_not_hide_the_settings_problems(write_yaml):
    path = write_yaml("a.yaml", "version: 2\nnumbers: 5\n")
    assert [(i.line, i.field) for i in issues_of(path)] == [(1, "version"), (2, "numbers")]


def test_an_empty_document_says_what_is_expected(write_yaml):
    path = write_yaml("a.yaml", "# nothing here yet\n")
    assert issues_of(path) == [
        ConfigIssue(str(path), None, "", "is empty; expected a mapping with version: 1")
    ]


def test_a_document_that_is_not_a_mapping_is_reported_at_its_first_line(write_yaml):
    listed = write_yaml("a.yaml", "# a list by mistake\n\n- version: 1\n")
    scalar = write_yaml("b.yaml", "just words\n")
    message = "must be a mapping with version: 1 at the top"
    assert issues_of(listed) == [ConfigIssue(str(listed), 3, "", message)]
    assert issues_of(scalar) == [ConfigIssue(str(scalar), 1, "", message)]


def test_a_missing_number_is_reported_at_its_entry(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nnumbers:\n  - assistant: null\n")
    assert issues_of(path) == [ConfigIssue(str(path), 3, "numbers[0].number", "is required")]


# Unknown keys


@pytest.mark.parametrize(
    ("section", "typo", "field", "message"),
    [
        ("defaults", "regoin: IN", "defaults.regoin", "unknown key; did you mean 'region'?"),
        (
            "safety",
            "max_destructiv: 3",
            "safety.max_destructiv",
            "unknown key; did you mean 'max_destructive'?",
        ),
        ("defaults", "zzz: 1", "defaults.zzz", "unknown key (allowed: region, service)"),
        (
            "safety",
            "zzz: 1",
            "safety.zzz",
            "unknown key (allowed: max_destructive, max_destructive_percent)",
        ),
    ],
)
def test_unknown_keys_in_a_section_are_matched_against_that_sections_keys(
    write_yaml, section, typo, field, message
):
    path = write_yaml("a.yaml", f"version: 1\n{section}:\n  {typo}\n")
    assert issues_of(path) == [ConfigIssue(str(path), 3, field, message)]


def test_an_unknown_top_level_key_lists_the_allowed_ones(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nzzz: 1\n")
    assert issues_of(path) == [
        ConfigIssue(
            str(path),
            2,
            "zzz",
            "unknown key (allowed: version, defaults, assistants, strategies, unmanaged, "
            "safety, apply, numbers)",
        )
    ]


# The hint to quote a value


def test_an_unquoted_number_is_told_to_quote_it(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nnumbers:\n  - number: +918044319240\n")
    assert issues_of(path) == [
        ConfigIssue(
            str(path),
            3,
            "numbers[0].number",
            "must be a quoted string (YAML reads unquoted +91... as an integer)",
        )
    ]


def test_only_the_number_is_told_to_quote_it(write_yaml):
    path = write_yaml(
        "a.yaml",
        'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: null\n'
        "    description: 5\n",
    )
    assert issues_of(path) == [
        ConfigIssue(str(path), 5, "numbers[0].description", "Input should be a valid string")
    ]


# Settings across files


def test_defaults_that_differ_between_files_conflict(write_yaml):
    first = write_yaml("a.yaml", "version: 1\ndefaults:\n  region: IN\n")
    second = write_yaml("b.yaml", "version: 1\n\ndefaults:\n  region: US\n")
    assert issues_of(first, second) == [
        ConfigIssue(str(second), 3, "defaults", f"conflicts with the value set at {first}:2")
    ]


def test_safety_that_differs_between_files_conflicts(write_yaml):
    first = write_yaml("a.yaml", "version: 1\nsafety:\n  max_destructive: 3\n")
    second = write_yaml("b.yaml", "version: 1\nsafety:\n  max_destructive: 4\n")
    assert issues_of(first, second) == [
        ConfigIssue(str(second), 2, "safety", f"conflicts with the value set at {first}:2")
    ]


def test_a_setting_present_only_in_a_later_file_is_used(write_yaml):
    first = write_yaml("a.yaml", ONE_NUMBER)
    second = write_yaml(
        "b.yaml",
        "version: 1\ndefaults:\n  region: US\nsafety:\n  max_destructive: 3\n"
        "  max_destructive_percent: 12.5\nunmanaged: detach\n",
    )
    state = config.load([str(first), str(second)])
    assert state.safety == SafetyPolicy(3, 12.5)
    assert (state.region, state.service, state.unmanaged) == ("US", "exotel", "detach")


def test_the_percent_limit_region_and_service_reach_the_state(write_yaml):
    path = write_yaml(
        "a.yaml",
        ONE_NUMBER + "defaults:\n  region: GB\n  service: exotel\n"
        "safety:\n  max_destructive_percent: 7\n",
    )
    state = config.load([str(path)])
    assert state.safety == SafetyPolicy(10, 7.0)
    assert isinstance(state.safety.max_destructive_percent, float)
    assert (state.region, state.service) == ("GB", "exotel")


# Aliases


def test_a_strategy_alias_defined_twice_differently_conflicts(write_yaml):
    first = write_yaml("a.yaml", f"version: 1\nstrategies:\n  crm: {CRM}\n")
    second = write_yaml("b.yaml", f"version: 1\nstrategies:\n  other: {OTHER}\n  crm: {OTHER}\n")
    assert issues_of(first, second) == [
        ConfigIssue(
            str(second),
            4,
            "strategies.crm",
            f"alias 'crm' is {OTHER}, but {CRM} at {first}:3",
        )
    ]


def test_a_strategy_id_that_is_not_a_uuid_is_refused(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nstrategies:\n  crm: crm-lookup\n")
    assert issues_of(path) == [
        ConfigIssue(str(path), 3, "strategies.crm", "'crm-lookup' is not an id (ids are UUIDs)")
    ]


def test_an_unknown_assistant_alias_names_the_assistants_section(write_yaml):
    path = write_yaml(
        "a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: nobody\n'
    )
    assert issues_of(path) == [
        ConfigIssue(
            str(path),
            4,
            "numbers[0].assistant",
            "unknown assistant alias 'nobody': not under assistants and not a UUID",
        )
    ]


# Numbers


def test_a_bad_number_is_reported_on_its_number_field(write_yaml):
    path = write_yaml("a.yaml", 'version: 1\nnumbers:\n  - assistant: null\n    number: "+91 1"\n')
    assert issues_of(path) == [
        ConfigIssue(str(path), 4, "numbers[0].number", "'+91 1' is not a phone number (too short)")
    ]


def test_a_number_declared_twice_is_reported_at_the_second_number_key(write_yaml):
    path = write_yaml(
        "a.yaml",
        'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: null\n'
        '  - assistant: null\n    number: "080 4431 9240"\n',
    )
    assert issues_of(path) == [
        ConfigIssue(
            str(path), 6, "numbers[1].number", f"+918044319240 is already declared at {path}:3"
        )
    ]


def test_a_declared_number_keeps_its_e164_form_and_description(write_yaml):
    path = write_yaml("a.yaml", ONE_NUMBER + "    description: Front desk\n")
    (number,) = config.load([str(path)]).numbers
    assert (number.e164, number.description) == ("+918044319240", "Front desk")


def test_resolve_normalizes_in_this_process_by_default(write_yaml):
    path = write_yaml("a.yaml", ONE_NUMBER)
    parsed, issues = validate_document(read_yaml(path))
    assert issues == []
    assert parsed is not None
    state, problems = resolve([parsed])
    assert problems == []
    assert state is not None
    assert [n.normalized for n in state.numbers] == ["918044319240"]


# A file with a bad setting is still resolved with the settings that are good


def test_a_bad_setting_does_not_hide_the_files_aliases_from_its_numbers(write_yaml):
    path = write_yaml("a.yaml", "version: 1\nsafety:\n  max_destructive: -1\n" + ONE_NUMBER[11:])
    assert issues_of(path) == [
        ConfigIssue(
            str(path), 3, "safety.max_destructive", "Input should be greater than or equal to 0"
        )
    ]


def test_unreadable_aliases_make_an_unknown_alias_say_where_it_may_be(write_yaml):
    path = write_yaml(
        "a.yaml",
        'version: 1\nassistants:\n  support: 5\nnumbers:\n  - number: "+918044319240"\n'
        "    assistant: support\n",
    )
    assert issues_of(path) == [
        ConfigIssue(str(path), 3, "assistants.support", "Input should be a valid string"),
        ConfigIssue(
            str(path),
            6,
            "numbers[0].assistant",
            "unknown assistant alias 'support': not under assistants and not a UUID "
            "(unless a file whose aliases could not be read defines it)",
        ),
    ]


def test_resolve_takes_every_file_as_read_unless_told_otherwise(write_yaml):
    path = write_yaml(
        "a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: nobody\n'
    )
    parsed, _ = validate_document(read_yaml(path))
    assert parsed is not None
    _, issues = resolve([parsed])
    assert [i.message for i in issues] == [
        "unknown assistant alias 'nobody': not under assistants and not a UUID"
    ]
    _, unsure = resolve([parsed], all_read=False)
    assert unsure[0].message.endswith("(unless a file whose aliases could not be read defines it)")


def test_did_you_mean_prefers_the_same_word_in_another_case_then_the_closest():
    assert did_you_mean("Support", ["sales", "support"]) == "support"
    assert did_you_mean("SUPPORT", ["Support", "support"]) == "Support"
    assert did_you_mean("suport", ["sales", "Support"]) == "Support"
    assert did_you_mean("zzz", ["sales", "support"]) is None


# apply: how apply talks to the API


def test_apply_max_rate_reaches_the_state(write_yaml):
    path = write_yaml("a.yaml", ONE_NUMBER + "apply:\n  max_rate: 2.5\n")
    assert config.load([str(path)]).max_rate == 2.5


def test_an_unknown_key_under_apply_is_matched_against_apply_keys(write_yaml):
    path = write_yaml("a.yaml", "version: 1\napply:\n  max_rte: 2\n")
    assert issues_of(path) == [
        ConfigIssue(str(path), 3, "apply.max_rte", "unknown key; did you mean 'max_rate'?")
    ]


def test_apply_options_that_differ_between_files_conflict(write_yaml):
    first = write_yaml("a.yaml", "version: 1\napply:\n  max_rate: 2\n")
    second = write_yaml("b.yaml", "version: 1\napply:\n  max_rate: 3\n")
    assert issues_of(first, second) == [
        ConfigIssue(str(second), 2, "apply", f"conflicts with the value set at {first}:2")
    ]


# What a validated file keeps: its settings as read, and each entry with its lines


def test_a_validated_file_keeps_its_entries_with_their_lines_but_not_their_yaml(write_yaml):
    path = write_yaml(
        "a.yaml",
        ONE_NUMBER
        + '  - strategy: null\n    number: "080 4431 9241"\n    assistant: support\n'
        + "    ensure: absent\n    description: Front desk\n",
    )
    parsed, issues = validate_document(read_yaml(path))
    assert issues == []
    assert parsed is not None
    assert "numbers" not in parsed.raw
    assert parsed.raw.key_lines == {"version": 1, "assistants": 2}
    first, second = parsed.entries
    assert first == Entry(
        0, 5, {"number": 5, "assistant": 6}, "+91 80 4431 9240", "support", None, None,
        "present", False, None, False,
    )  # fmt: skip
    assert second[:2] == (1, 7)
    assert second[3:] == (
        "080 4431 9241",
        "support",
        None,
        "Front desk",
        "absent",
        False,
        None,
        False,
    )
    assert [second.line_of(f) for f in ("strategy", "number", "assistant", "protect")] == [
        7,
        8,
        9,
        7,
    ]
