"""Invalid configs: `validate` rejects every one; the JSON Schema rejects those listed.

Editors validate with the schema as the user types, so it should refuse what it can express.
SCHEMA_REJECTS may only grow: a case leaves it only if the schema stops catching it, which is
a regression this test reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from inbound_sync import config
from inbound_sync.errors import ConfigError
from sandbox_fixtures import CRM, SUPPORT

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "inbound-sync.schema.json").read_text())
N = '"+918044319240"'

CORPUS = {
    "no version": f"numbers:\n  - number: {N}\n    assistant: {SUPPORT}\n",
    "version 2": "version: 2\n",
    "unknown top-level key": "version: 1\ncolour: red\n",
    "unknown entry key": f"version: 1\nnumbers:\n  - number: {N}\n    assistant: null\n    x: 1\n",
    "assistant missing": f"version: 1\nnumbers:\n  - number: {N}\n",
    "number unquoted": f"version: 1\nnumbers:\n  - number: 918044319240\n    assistant: {SUPPORT}\n",
    "letters in number": "version: 1\nnumbers:\n  - number: '+91 80 CALL'\n    assistant: null\n",
    "extension": "version: 1\nnumbers:\n  - number: '+918044319240,12'\n    assistant: null\n",
    "assistant alias table holds a non-UUID": "version: 1\nassistants:\n  support: nope\n",
    "strategy alias table holds a non-UUID": "version: 1\nstrategies:\n  crm: 1234\n",
    "absent and protected": f"version: 1\nnumbers:\n  - number: {N}\n    ensure: absent\n"
    "    protect: true\n",
    "absent with an assistant": f"version: 1\nnumbers:\n  - number: {N}\n    ensure: absent\n"
    f"    assistant: {SUPPORT}\n",
    "absent with a strategy": f"version: 1\nnumbers:\n  - number: {N}\n    ensure: absent\n"
    f"    strategy: {CRM}\n",
    "strategy without an assistant": f"version: 1\nnumbers:\n  - number: {N}\n"
    f"    assistant: null\n    strategy: {CRM}\n",
    "unknown unmanaged policy": "version: 1\nunmanaged: purge\n",
    "negative max_destructive": "version: 1\nsafety:\n  max_destructive: -1\n",
    "percent above 100": "version: 1\nsafety:\n  max_destructive_percent: 150\n",
    "unknown service": "version: 1\ndefaults:\n  service: twilio\n",
    "unknown alias": f"version: 1\nnumbers:\n  - number: {N}\n    assistant: nobody\n",
    "unknown region": "version: 1\ndefaults:\n  region: XX\n",
    "invalid number": "version: 1\nnumbers:\n  - number: '+91 80 123'\n    assistant: null\n",
    "duplicate number": f"version: 1\nnumbers:\n  - number: {N}\n    assistant: null\n"
    f"  - number: {N}\n    assistant: null\n",
    "numbers not a list": "version: 1\nnumbers: {}\n",
}

# What JSON Schema cannot express: references between keys (aliases), phone numbering plans,
# regions, and uniqueness of a normalized value.
SCHEMA_REJECTS = set(CORPUS) - {
    "unknown alias",
    "unknown region",
    "invalid number",
    "duplicate number",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_validate_rejects_every_case(tmp_path, name):
    path = tmp_path / "inbound.yaml"
    path.write_text(CORPUS[name])
    with pytest.raises(ConfigError):
        config.load([str(path)])


def schema_rejects(text: str) -> bool:
    try:
        jsonschema.validate(yaml.safe_load(text), SCHEMA)
    except jsonschema.ValidationError:
        return True
    return False


def test_the_schema_rejects_at_least_the_listed_cases():
    rejected = {name for name, text in CORPUS.items() if schema_rejects(text)}
    assert rejected >= SCHEMA_REJECTS, sorted(SCHEMA_REJECTS - rejected)


@pytest.mark.parametrize(
    "spelling", [SUPPORT, SUPPORT.upper(), "{" + SUPPORT + "}", "urn:uuid:" + SUPPORT]
)
def test_the_schema_accepts_every_spelling_of_an_id_that_validate_accepts(tmp_path, spelling):
    text = f"version: 1\nassistants:\n  support: '{spelling}'\n"
    (tmp_path / "inbound.yaml").write_text(text)
    config.load([str(tmp_path / "inbound.yaml")])
    assert not schema_rejects(text)
