"""Fuzzing the config loader: whatever the files hold, a DesiredState or a ConfigError naming them.

Random text and bytes, random YAML documents, a valid config with one value replaced by a wrong
type, a huge value or an odd string, numbers written in other scripts' digits or with letters,
byte-order marks, empty files and directories without YAML: `config.load` never raises anything
but ConfigError, and every issue it reports names the file it came from.
"""

from __future__ import annotations

import copy
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from inbound_sync import config
from inbound_sync.config import DesiredState
from inbound_sync.errors import ConfigError
from reliability_support import fuzz, show

SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
VALID: dict[str, Any] = {
    "version": 1,
    "defaults": {"region": "IN", "service": "exotel"},
    "assistants": {"support": SUPPORT},
    "strategies": {"crm": CRM},
    "unmanaged": "ignore",
    "safety": {"max_destructive": 10, "max_destructive_percent": 30},
    "numbers": [
        {"number": "+91 80 4431 9240", "assistant": "support", "strategy": "crm"},
        {"number": "080 4431 9241", "assistant": None},
        {"number": "+918044319242", "ensure": "absent", "protect": False},
    ],
}
# Where a value can be replaced: every key of the valid config, at every level.
PLACES: list[tuple[str | int, ...]] = [
    ("version",),
    ("defaults",),
    ("defaults", "region"),
    ("defaults", "service"),
    ("assistants",),
    ("assistants", "support"),
    ("strategies", "crm"),
    ("unmanaged",),
    ("safety",),
    ("safety", "max_destructive"),
    ("safety", "max_destructive_percent"),
    ("numbers",),
    ("numbers", 0),
    ("numbers", 0, "number"),
    ("numbers", 0, "assistant"),
    ("numbers", 0, "strategy"),
    ("numbers", 1, "assistant"),
    ("numbers", 2, "ensure"),
    ("numbers", 2, "protect"),
    ("numbers", 0, "region"),
    ("numbers", 0, "allow_unverified"),
    ("numbers", 0, "description"),
]
# Decimal digits of other scripts: Arabic-Indic, Devanagari, Bengali, Thai, fullwidth, ...
DIGIT_BLOCKS = [0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10, 0x1D7CE, 0x104A0]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**400)
    | st.floats()
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=500, max_size=2000)
    | st.dates()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(sorted(VALID)), inner, max_size=4)
    ),
    max_leaves=10,
)
BOMS = [b"", b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]


def odd_digits(text: str, block: int) -> str:
    return "".join(chr(block + int(c)) if c.isdigit() else c for c in text)


def load_file(data: bytes, name: str = "inbound.yaml") -> DesiredState | ConfigError:
    """Write `data` to a fresh file and load it: the state, or the ConfigError raised."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return config.load([str(path)])
        except ConfigError as exc:
            assert_names_file(exc, str(path))
            return exc


def assert_names_file(error: ConfigError, path: str) -> None:
    assert error.issues, "a ConfigError must carry at least one issue"
    text = str(error)
    count = len(error.issues)
    assert text.startswith(f"{count} error{'s' if count != 1 else ''} in the config:")
    for issue in error.issues:
        assert issue.path == path
        assert issue.message.strip()
        assert issue.format().startswith(path)


def dump(document: object) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


def put(document: dict[str, Any], place: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in place[:-1]:
        node = node[part]
    node[place[-1]] = value
    return changed


def test_the_valid_base_config_loads():
    state = load_file(dump(VALID))
    assert isinstance(state, DesiredState)
    assert [n.normalized for n in state.numbers] == ["918044319240", "918044319241", "918044319242"]


def test_random_text_with_or_without_a_bom_is_loaded_or_refused_clearly(capsys):
    seen = Counter[str]()

    @fuzz(400)
    @given(text=st.text(max_size=200), bom=st.sampled_from(BOMS))
    @example(text="", bom=b"")
    @example(text="   \n\t\n", bom=b"")
    @example(text="# only a comment\n", bom=b"\xef\xbb\xbf")
    @example(text="", bom=b"\xef\xbb\xbf")
    @example(text="version: 1\n\ufeffnumbers: []\n", bom=b"")
    @example(text="a: " + "[" * 5000 + "]" * 5000, bom=b"")
    @example(text="a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 2000)), bom=b"")
    @example(text="version: !!python/object/apply:os.system [true]\n", bom=b"")
    @example(text="version: 1\nversion: 1\n", bom=b"")
    @example(text="version: true\n", bom=b"")
    @example(text="version: 1\n---\nversion: 1\n", bom=b"")
    @example(text="a: &a [*a]\n", bom=b"")
    def check(text: str, bom: bytes) -> None:
        result = load_file(bom + text.encode("utf-8"))
        seen["cases"] += 1
        seen["loaded" if isinstance(result, DesiredState) else "refused"] += 1

    check()
    show(capsys, "Config fuzz, random text", dict(seen))


def test_random_bytes_are_loaded_or_refused_clearly(capsys):
    seen = Counter[str]()

    @fuzz(300)
    @given(data=st.binary(max_size=300))
    @example(data="version: 1\n".encode("utf-16"))
    @example(data=b"version: 1\n\x00")
    @example(data=b"\xc3\x28")
    def check(data: bytes) -> None:
        result = load_file(data)
        seen["cases"] += 1
        seen["loaded" if isinstance(result, DesiredState) else "refused"] += 1

    check()
    show(capsys, "Config fuzz, random bytes", dict(seen))


def test_random_yaml_documents_are_loaded_or_refused_clearly(capsys):
    seen = Counter[str]()

    @fuzz(200)
    @given(document=values)
    def check(document: object) -> None:
        result = load_file(dump(document))
        seen["cases"] += 1
        seen["loaded" if isinstance(result, DesiredState) else "refused"] += 1

    check()
    show(capsys, "Config fuzz, random YAML documents", dict(seen))


def test_one_wrong_value_in_a_valid_config_is_reported_at_its_line(capsys):
    seen = Counter[str]()

    @fuzz(300)
    @given(place=st.sampled_from(PLACES), value=values)
    @example(place=("version",), value=True)
    @example(place=("version",), value=1.0)
    @example(place=("safety", "max_destructive_percent"), value=math.nan)
    @example(place=("safety", "max_destructive_percent"), value=math.inf)
    @example(place=("safety", "max_destructive"), value=10**400)
    @example(place=("numbers", 0, "number"), value=918044319240)
    @example(place=("numbers", 0, "number"), value="9" * 100_000)
    @example(place=("numbers", 0, "description"), value="x" * 1_000_000)
    @example(place=("numbers",), value={"number": "+918044319240"})
    @example(place=("assistants",), value=[SUPPORT])
    def check(place: tuple[str | int, ...], value: object) -> None:
        result = load_file(dump(put(VALID, place, value)))
        seen["cases"] += 1
        if isinstance(result, DesiredState):
            seen["loaded"] += 1
            return
        seen["refused"] += 1
        # A wrong value at a known place is reported with a line number.
        assert any(issue.line is not None for issue in result.issues), result

    check()
    show(capsys, "Config fuzz, one wrong value in a valid config", dict(seen))
    assert seen["refused"] > seen["loaded"] > 0


def test_numbers_in_other_digits_or_with_letters_normalize_or_are_refused(capsys):
    seen = Counter[str]()
    number = "+91 80 4431 9240"

    @fuzz(300)
    @given(
        block=st.sampled_from(DIGIT_BLOCKS),
        letter=st.one_of(st.none(), st.characters(categories=["Lu", "Ll", "Lo"])),
        at=st.integers(0, len(number)),
    )
    def check(block: int, letter: str | None, at: int) -> None:
        text = odd_digits(number, block)
        if letter is not None:
            text = text[:at] + letter + text[at:]
        document = dump(put(VALID, ("numbers", 0, "number"), text))
        line = document.decode().splitlines().index(f"- number: {text}") + 1
        result = load_file(document)
        seen["cases"] += 1
        if isinstance(result, DesiredState):
            # Digits of another script stand for the same number, never for another one.
            assert letter is None
            assert result.numbers[0].normalized == "918044319240"
            seen["normalized to +91 80 4431 9240"] += 1
            return
        [issue] = result.issues
        assert issue.field == "numbers[0].number"
        assert issue.line == line
        if letter is not None:
            assert "contains letters" in issue.message
        seen["refused"] += 1

    check()
    show(capsys, "Config fuzz, numbers in other scripts' digits or with letters", dict(seen))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: true\n", "version: must be the integer 1, not True"),
        ("version: 1.0\n", "version: must be the integer 1, not 1.0"),
        ("version: '1'\n", "version: Input should be 1"),
        (
            "version: 1\nsafety: {max_destructive: true}\n",
            "safety.max_destructive: Input should be a valid integer",
        ),
        (
            "version: 1\nsafety: {max_destructive: 1.5}\n",
            "safety.max_destructive: Input should be a valid integer",
        ),
        (
            "version: 1\nnumbers: [{number: 918044319240, assistant: null}]\n",
            "numbers[0].number: must be a quoted string",
        ),
        (
            "version: 1\nnumbers: [{number: '+918044319240', assistant: null, protect: 1}]\n",
            "numbers[0].protect: Input should be a valid boolean",
        ),
    ],
)
def test_values_of_the_wrong_type_are_refused_not_coerced(tmp_path, text, message):
    path = tmp_path / "inbound.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load([str(path)])
    assert f"{path}:" in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "directory holds no *.yaml or *.yml files"),
        ({"sub/deeper/": None}, "directory holds no *.yaml or *.yml files"),
        ({"notes.txt": "version: 1", "inbound.yaml.bak": "x"}, "directory holds no *.yaml"),
        ({"a.yaml/": None}, "directory holds no *.yaml or *.yml files"),
        ({"a.yaml": ""}, "is empty; expected a mapping with version: 1"),
        ({"a.yml": "# nothing\n"}, "is empty; expected a mapping with version: 1"),
        ({"a.yaml": "\ufeff"}, "is empty; expected a mapping with version: 1"),
    ],
)
def test_directories_without_yaml_and_empty_files_are_named(tmp_path, layout, message):
    root = tmp_path / "config"
    root.mkdir()
    for name, text in layout.items():
        if name.endswith("/"):
            (root / name).mkdir(parents=True)
        else:
            (root / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load([str(root)])
    assert message in str(info.value)
    assert all(issue.path.startswith(str(root)) for issue in info.value.issues)
