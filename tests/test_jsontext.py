"""The indented JSON writer gives json.dumps(indent=2, sort_keys=True)'s text, byte for byte."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound_sync.jsontext import indented


def reference(value: object, ensure_ascii: bool = False) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)


def outcome(write: Callable[[], str]) -> tuple[str, str]:
    """The text written, or the error raised: its type and message."""
    try:
        return ("text", write())
    except (TypeError, ValueError, RecursionError) as exc:
        return (type(exc).__name__, str(exc))


def assert_same(value: object, ensure_ascii: bool = False) -> None:
    expected = outcome(lambda: reference(value, ensure_ascii))
    assert outcome(lambda: indented(value, ensure_ascii=ensure_ascii)) == expected


# Keys chosen to collide with the writer's own text: brackets, quotes, separators, escapes.
KEYS = st.sampled_from(["a", "b", "B", "é", "{", "}", "[", "]", '"', "\\", "\n", ",\n  ", ": ", ""])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text()
    | st.text(alphabet=st.sampled_from('{}[]",:\\\n\t\x00\x1f\u2028é日 '))
)


def containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    same_keys = st.lists(KEYS, min_size=1, max_size=4, unique=True).flatmap(
        lambda keys: st.lists(st.fixed_dictionaries(dict.fromkeys(keys, children)), max_size=5)
    )
    return (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=5).map(tuple)
        | st.dictionaries(KEYS, children, max_size=5)
        | st.dictionaries(st.text(), children, max_size=3)
        | same_keys
        | st.lists(st.lists(children, max_size=3), max_size=4)
    )


JSON = st.recursive(SCALARS, containers, max_leaves=30)


@settings(max_examples=600, deadline=None)
@given(JSON, st.booleans())
def test_any_json_value_is_written_as_json_dumps_writes_it(value, ensure_ascii):
    assert indented(value, ensure_ascii=ensure_ascii) == reference(value, ensure_ascii)


NON_STR_KEYS = st.one_of(
    st.integers(), st.floats(), st.booleans(), st.none(), st.text(), st.tuples(st.integers())
)


@settings(max_examples=300, deadline=None)
@given(st.recursive(SCALARS, lambda c: st.dictionaries(NON_STR_KEYS, c, max_size=4), max_leaves=12))
def test_keys_of_every_type_convert_sort_and_fail_as_json_dumps_does(value):
    assert_same(value)


class Level(enum.IntEnum):
    HIGH = 1


class Name(str):
    __slots__ = ()


class Ratio(float):
    pass


class Table(dict):  # type: ignore[type-arg]
    pass


class Row(list):  # type: ignore[type-arg]
    pass


class Reversed(list):  # type: ignore[type-arg]
    """A list that iterates backwards: json.dumps writes what iteration gives."""

    def __iter__(self) -> Iterator[object]:
        return iter(list(list.__iter__(self))[::-1])


EDGE_CASES = [
    None,
    True,
    0,
    -(10**30),
    1.5,
    -0.0,
    1e300,
    5e-324,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "\x00\x1f\x7f\u2028\u2029",
    '"\\/',
    "\ud800 lone surrogate",
    "é 日本 🙂",
    {},
    [],
    (),
    [[]],
    [{}],
    [()],
    {"a": {}, "b": [], "c": [[], {}]},
    [{"a": 1}, {}, {"a": 2}],
    [[1], [], [2]],
    [(1, 2), [3], ()],
    [[1, [2]], [3]],
    [{"a": [1]}, {"a": 2}, {"b": 3}],
    [{"a": 1, "b": 2}, {"b": 3, "a": 4}],
    [{"{": [1], "}": {"x": 2}}, {"{": [3], "}": None}],
    [{"a": None}, {"a": {"b": 1}}, {"a": {}}, {"a": [1]}, {"a": "s"}],
    {"b": 1, "a": 2, "A": 3, "é": 4, "\x00": 5, "\n": [6]},
    {'"': [1], "\\": {"\n": 2}, "},\n  {": 3},
    {1: [1], 2: "b", 10: {"c": 3}},
    {1.5: [1], math.nan: 2, math.inf: {"x": 3}},
    {True: [1], False: 2},
    {None: {"a": [1]}},
    {Level.HIGH: [1]},
    [Level.HIGH, Name("x"), Ratio(2.5), {"k": Level.HIGH}, [Name("y")]],
    [Table(b=1, a=[2]), Row([1, {"b": 2}]), {Name("k"): [1]}],
    [Table(), Row(), Table(a=1)],
    Reversed([1, {"a": [2]}, 3]),
    {"list": Reversed([1, 2])},
    [10**4000],
]


@pytest.mark.parametrize("value", EDGE_CASES)
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_edge_cases_are_written_as_json_dumps_writes_them(value, ensure_ascii):
    assert_same(value, ensure_ascii)


def nested(depth: int, wrap: Callable[[object], object]) -> object:
    value: object = [1, 2]
    for _ in range(depth):
        value = wrap(value)
    return value


@pytest.mark.parametrize(
    "wrap",
    [lambda v: [v], lambda v: {"a": v, "b": 1}, lambda v: [{"a": v}, {"a": 1}]],
    ids=["list", "dict", "rows"],
)
@pytest.mark.parametrize("depth", [50, 400])
def test_deep_nesting_is_written_as_json_dumps_writes_it(wrap, depth):
    assert_same(nested(depth, wrap))


def test_nesting_past_the_recursion_limit_ends_as_json_dumps_ends():
    # A RecursionError where json.dumps recurses in Python; the text where its C encoder indents.
    assert_same(nested(5000, lambda v: [v]))


def circular_list() -> object:
    value: list[object] = [1]
    value.append(value)
    return value


def circular_dict() -> object:
    value: dict[str, object] = {"a": 1}
    value["b"] = value
    return value


def circular_row() -> object:
    row: dict[str, object] = {"a": None}
    rows = [row, {"a": 1}]
    row["a"] = rows
    return {"rows": rows}


@pytest.mark.parametrize("make", [circular_list, circular_dict, circular_row])
def test_a_circular_reference_raises_as_json_dumps_does(make):
    value = make()
    assert outcome(lambda: indented(value)) == ("ValueError", "Circular reference detected")


def test_a_shared_but_not_circular_value_is_written_twice():
    shared = {"x": [1]}
    assert_same({"a": shared, "b": [shared, shared], "c": [{"k": shared}, {"k": shared}]})


class Undecided:
    """Neither true nor false, as some arrays are: json.dumps never asks."""

    def __bool__(self) -> bool:
        raise ValueError("truth value undecided")


@pytest.mark.parametrize(
    "value",
    [
        object(),
        [Undecided()],
        [1, Undecided()],
        [[1], Undecided()],
        [{"a": 1}, {"a": Undecided()}],
        {"a": {1, 2}},
        [{"a": 1}, {"a": object()}],
        [[1], [b"bytes"]],
        {(1, 2): [1]},
        {(1, 2): 1},
        {1: [1], "a": 2},
        [{1: 1, "a": 2}],
        [[10**5000]],
    ],
)
def test_what_json_cannot_write_fails_as_json_dumps_fails(value):
    expected = outcome(lambda: reference(value))
    assert expected[0] != "text"
    assert outcome(lambda: indented(value)) == expected


def test_a_plan_sized_document_is_written_as_json_dumps_writes_it():
    # Every path at once, on the shape of a plan: rows sharing keys with nested bindings that
    # are sometimes null, a long list of flat rows, and a few single values.
    changes = [
        {
            "action": "update" if i % 3 else "assign",
            "after": {"assistant_id": f"a{i % 7}", "inbound_context_strategy_id": None},
            "before": None if i % 3 == 0 else {"assistant_id": "b", "id": i},
            "normalized": f"9180{i:08d}",
            "protect": i % 5 == 0,
        }
        for i in range(300)
    ]
    numbers = [{"e164": f"+9180{i:08d}", "note": None if i % 2 else "é"} for i in range(300)]
    document = {
        "changes": changes,
        "desired": {"numbers": numbers, "files": ["a.yaml"], "safety": {"max": 10}},
        "warnings": [],
        "format_version": 1,
    }
    assert indented(document) == reference(document)
