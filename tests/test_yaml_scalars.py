"""String and null scalars built directly are what PyYAML's own constructors build."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound_sync.config import source
from inbound_sync.config.source import parse_yaml

DOCUMENTS = [
    'numbers:\n  - number: "+91 80 4431 9240"\n    assistant: a\n    strategy: null\n',
    "a: &x text\nb: *x\nc: ~\nd:\ne: !!str 12\nf: !!null ''\ng: '007'\nh: yes\ni: 1_000\n",
    "list: [a, null, 'b', ~, 3, 4.5, true]\nnested: {k: [x, {y: null}]}\n",
    "anchored: &m {k: v}\nalias: *m\n",
    "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  z: 3\n",
    "m:\n  =: v\n  k: w\n",
    "a: ! 12\nb: !!int '7'\nc: 'null'\nd: \"yes\"\ne: .inf\nf: 2001-12-14\ng: 0x1f\n",
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


# Plain scalars: the loader remembers the tag of each text it resolved. Every text is read twice,
# so that the second reading takes the remembered tag, and compared with what PyYAML reads.
PLAIN = st.text(alphabet="0123456789.-+:_eExXoOnNuUlLyYtTrRfFaA~ ", min_size=1, max_size=12)


def _safe(text: str) -> object:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return "invalid"


def _ours(text: str) -> object:
    doc = parse_yaml("t.yaml", text)
    return "invalid" if doc.issues else doc.data


@settings(max_examples=300, derandomize=True, deadline=None)
@given(values=st.lists(PLAIN, min_size=1, max_size=6))
def test_plain_scalars_take_the_tag_the_safe_loader_gives_them(values):
    text = "".join(f"k{i}: {value}\nq{i}: '{value}'\n" for i, value in enumerate(values))
    assert _ours(text) == _safe(text)
    assert _ours(text) == _safe(text)


def test_the_tags_remembered_are_bounded():
    text = "".join(f"k{i}: v{i}\n" for i in range(source._PLAIN_TAGS_MAX + 10))
    assert len(parse_yaml("t.yaml", text).data) == source._PLAIN_TAGS_MAX + 10
    assert len(source._PLAIN_TAGS) == source._PLAIN_TAGS_MAX
