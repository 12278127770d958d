"""One run reports every error of the config, and unknown aliases come with a hint."""

from __future__ import annotations

import pytest

from inbound_sync import config
from inbound_sync.errors import ConfigError
from sandbox_fixtures import CRM, SUPPORT

EVERY_KIND = f"""\
version: 1
unmanaged: bogus
assistants:
  support: {SUPPORT}
  broken: not-a-uuid
numbers:
  - number: "+918044319240"
    assistant: suport
  - number: "+918044319244"
    assistant: support
  - number: "+91 80 CALL NOW"
    assistant: support
  - number: "+918044319241,12"
    assistant: support
  - number: "+91 80 4431 9244"
    assistant: support
  - number: "+918044319242"
    assistant: support
    colour: red
  - number: "+918044319243"
    assistant: support
    assistant: support
"""


def issues_of(*paths) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(ConfigError) as info:
        config.load([str(p) for p in paths])
    return [(i.path, i.line, i.field, i.message) for i in info.value.issues]


def test_every_kind_of_error_is_reported_in_one_run(write_yaml):
    every = write_yaml("every.yaml", EVERY_KIND)
    broken = write_yaml("broken.yaml", "version: 1\nnumbers: [unclosed\n")
    found = issues_of(every, broken)
    text = "\n".join(f"{p}:{line}: {field}: {message}" for p, line, field, message in found)

    assert sum(1 for p, *_ in found if p == str(broken)) == 1  # syntax
    assert "invalid YAML" in text
    assert "duplicate key 'assistant' (first defined on line 21)" in text  # duplicate key
    assert f"{every}:2: unmanaged: Input should be 'ignore', 'detach' or 'delete'" in text
    assert f"{every}:19: numbers[5].colour: unknown key" in text  # structural, in an entry
    assert f"{every}:5: assistants.broken: 'not-a-uuid' is not an id" in text  # non-UUID id
    assert (
        f"{every}:8: numbers[0].assistant: unknown assistant alias 'suport': not under "
        "assistants and not a UUID; did you mean 'support'?"
    ) in text
    assert f"{every}:15: numbers[4].number: +918044319244 is already declared at" in text
    assert f"{every}:11: numbers[2].number: '+91 80 CALL NOW' contains letters" in text
    assert f"{every}:13: numbers[3].number: '+918044319241,12' has an extension" in text
    assert len(found) == 9, text


def test_an_alias_differing_only_in_case_is_suggested(write_yaml):
    path = write_yaml(
        "inbound.yaml",
        f"version: 1\nassistants:\n  support: {SUPPORT}\nstrategies:\n  crm: {CRM}\n"
        'numbers:\n  - number: "+918044319240"\n    assistant: Support\n    strategy: CRM\n',
    )
    messages = [message for *_, message in issues_of(path)]
    assert messages == [
        "unknown assistant alias 'Support': not under assistants and not a UUID; "
        "did you mean 'support'?",
        "unknown strategy alias 'CRM': not under strategies and not a UUID; did you mean 'crm'?",
    ]


def test_an_alias_with_no_near_name_gets_no_hint(write_yaml):
    path = write_yaml(
        "inbound.yaml",
        f"version: 1\nassistants:\n  support: {SUPPORT}\n"
        'numbers:\n  - number: "+918044319240"\n    assistant: zebra\n',
    )
    [(_, _, _, message)] = issues_of(path)
    assert message == "unknown assistant alias 'zebra': not under assistants and not a UUID"


def test_an_unknown_alias_beside_an_unreadable_file_says_it_may_be_defined_there(write_yaml):
    ok = write_yaml(
        "a.yaml", 'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: zebra\n'
    )
    broken = write_yaml("b.yaml", "version: 1\nassistants: {zebra: [\n")
    found = issues_of(ok, broken)
    assert (
        str(ok),
        4,
        "numbers[0].assistant",
        "unknown assistant alias 'zebra': not under assistants and not a UUID "
        "(unless a file whose aliases could not be read defines it)",
    ) in found


def test_unknown_keys_are_suggested_whatever_their_case(write_yaml):
    path = write_yaml(
        "inbound.yaml",
        f'version: 1\nnumbers:\n  - number: "+918044319240"\n    Assistant: {SUPPORT}\n',
    )
    messages = [message for *_, message in issues_of(path)]
    assert "unknown key; did you mean 'assistant'?" in messages
