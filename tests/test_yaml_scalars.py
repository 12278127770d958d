"""String and null scalars built directly are what PyYAML's own constructors build."""

from __future__ import annotations

import pytest
import yaml

from inbound_sync.config.source import parse_yaml

DOCUMENTS = [
    'numbers:\n  - number: "+91 80 4431 9240"\n    assistant: a\n    strategy: null\n',
    "a: &x text\nb: *x\nc: ~\nd:\ne: !!str 12\nf: !!null ''\ng: '007'\nh: yes\ni: 1_000\n",
    "list: [a, null, 'b', ~, 3, 4.5, true]\nnested: {k: [x, {y: null}]}\n",
    "anchored: &m {k: v}\nalias: *m\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_values_equal_what_the_safe_loader_builds(text):
    doc = parse_yaml("t.yaml", text)
    assert not doc.issues
    assert doc.data == yaml.load(text, Loader=yaml.CSafeLoader)


def test_a_str_tag_on_a_mapping_is_still_refused():
    doc = parse_yaml("t.yaml", "a: !!str {b: c}\n")
    assert doc.data is None
    assert "invalid YAML" in doc.issues[0].message
