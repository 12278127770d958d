"""Indented JSON exactly as `json.dumps(value, indent=2, sort_keys=True)` writes it, but faster.

With `indent`, CPython's json falls back to its pure-Python encoder, one generator step per
value. Its C encoder writes on one line, but it takes any separators, and a JSON string never
holds a raw newline. So a container whose children are all scalars, C-encoded with the item
separator ",\\n" plus the indentation of its children, differs from the indented text only at
its two brackets; and a list of such containers, C-encoded in one call, differs only where one
child ends and the next begins: at the only separators that follow a closing bracket, since no
scalar's text ends with one.

Python walks only the containers that hold containers, and it writes siblings together: a list
of dicts that share their keys (a plan's changes) a key at a time, one C call per key, each row
then joined from its pieces. Key order, float repr, NaN and escapes are the C encoder's, which
writes them as the pure one does.

From Python 3.13 the C encoder indents by itself, faster than this; json.dumps then writes all.
"""

from __future__ import annotations

import json
import sys
from _json import make_encoder
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import chain, compress, repeat
from json.encoder import encode_basestring, encode_basestring_ascii
from operator import is_, itemgetter
from typing import Any

_SCALARS = frozenset({str, int, float, bool, type(None)})
"""The exact types the C encoder writes alike at any depth; a subclass takes the general path."""

_C_INDENTS = sys.version_info >= (3, 13)

_SEQUENCES = frozenset({list, tuple})
_CONTAINERS = frozenset({dict, list, tuple})

Bracket = tuple[str, str]
_BRACES: Bracket = ("{", "}")
_BRACKETS: Bracket = ("[", "]")


def indented(value: object, *, ensure_ascii: bool = False) -> str:
    """`json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)`, the same text."""
    if _C_INDENTS:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    writer = _Writer(ensure_ascii)
    try:
        writer.node(value, 0)
    except RecursionError:
        # A circular reference, or nesting deeper than this writer's recursion allows: json.dumps
        # decides, as ever (ValueError, RecursionError, or the text, as it nests less per level).
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    return "".join(writer.out)


def _indent(depth: int) -> str:
    return "  " * depth


@cache
def _encoder(depth: int, ensure_ascii: bool) -> make_encoder:
    """The C encoder whose item separator puts each item on a new line at `depth`."""
    string = encode_basestring_ascii if ensure_ascii else encode_basestring
    separator = ",\n" + _indent(depth)
    return make_encoder(None, _unserializable, string, None, ": ", separator, True, False, True)


def _unserializable(value: object) -> object:
    # json.JSONEncoder.default's own message, so that the error reads as json.dumps's does.
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Writer:
    """Appends the text of one value to `out`, or returns the texts of siblings together."""

    def __init__(self, ensure_ascii: bool) -> None:
        self.ensure_ascii = ensure_ascii
        self.string: Callable[[str], str] = (
            encode_basestring_ascii if ensure_ascii else encode_basestring
        )
        self.out: list[str] = []

    def flat(self, value: object, depth: int) -> str:
        """The C text of a scalar, or of a container of scalars with its items at `depth`."""
        return "".join(_encoder(depth, self.ensure_ascii)(value, 0))

    def text(self, value: object, depth: int) -> str:
        """The text of one value, written on its own."""
        writer = _Writer(self.ensure_ascii)
        writer.node(value, depth)
        return "".join(writer.out)

    def node(self, value: object, depth: int) -> None:
        if isinstance(value, dict) and value:
            self.mapping(value, depth)
        elif isinstance(value, (list, tuple)) and value:
            self.sequence(value, depth)
        elif isinstance(value, (dict, list, tuple)):
            self.out.append("{}" if isinstance(value, dict) else "[]")
        else:
            self.out.append(self.flat(value, depth))

    def mapping(self, value: dict[Any, Any], depth: int) -> None:
        if type(value) is dict and _all_scalars(value.values()):
            self.out.append(_open(self.flat(value, depth + 1), depth))
            return
        inner = _indent(depth + 1)
        separator = "{"
        for key, item in sorted(value.items()):
            self.out.append(f"{separator}\n{inner}{self.key(key)}: ")
            self.node(item, depth + 1)
            separator = ","
        self.out.append(f"\n{_indent(depth)}}}")

    def sequence(self, value: Sequence[Any], depth: int) -> None:
        outer, inner = _indent(depth), _indent(depth + 1)
        if type(value) in _SEQUENCES:
            kinds = set(map(type, value))
            if kinds <= _SCALARS:
                self.out.append(_open(self.flat(value, depth + 1), depth))
                return
            bracket = _leaf_bracket(kinds, value)
            if bracket:
                self.leaf_list(value, depth, bracket)
                return
        texts = self.texts(list(value), depth + 1)
        self.out.extend((f"[\n{inner}", f",\n{inner}".join(texts), f"\n{outer}]"))

    def leaf_list(self, value: Sequence[Any], depth: int, bracket: Bracket) -> None:
        """A list of containers of scalars, in one C call with each boundary rewritten."""
        start, end = bracket
        outer, inner, items = _indent(depth), _indent(depth + 1), _indent(depth + 2)
        body, boundary = self.leaves(value, depth + 1, bracket)
        self.out.append(f"[\n{inner}{start}\n{items}")
        self.out.append(body.replace(boundary, f"\n{inner}{end},\n{inner}{start}\n{items}"))
        self.out.append(f"\n{inner}{end}\n{outer}]")

    def leaves(self, values: Sequence[Any], depth: int, bracket: Bracket) -> tuple[str, str]:
        """Sibling containers of scalars at `depth`, in one C call: the text between the first
        opening and the last closing bracket, and the boundary between two siblings in it."""
        start, end = bracket
        return self.flat(values, depth + 1)[2:-2], f"{end},\n{_indent(depth + 1)}{start}"

    def key(self, key: object) -> str:
        if isinstance(key, str):
            return self.string(key)
        if isinstance(key, (int, float)) or key is None:
            # bool is an int too: json writes each as its JSON text, quoted as a string.
            return self.string(self.flat(key, 0))
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")

    def texts(self, values: list[Any], depth: int) -> list[str]:
        """The text of each of `values`, siblings at `depth`, those alike written together."""
        kinds = set(map(type, values))
        if kinds <= _SCALARS:
            # Scalars C-encoded as one list on several lines: one line each.
            return self.flat(values, 0)[1:-1].split(",\n") if values else []
        bracket = _leaf_bracket(kinds, values)
        if bracket:
            body, boundary = self.leaves(values, depth, bracket)
            start, end = bracket
            head, tail = f"{start}\n{_indent(depth + 1)}", f"\n{_indent(depth)}{end}"
            return [head + text + tail for text in body.split(boundary)]
        if len(kinds) > 1:
            return self.mixed(values, depth)
        (kind,) = kinds
        if kind in _CONTAINERS and not all(values):
            return self.some_empty(values, depth, "{}" if kind is dict else "[]")
        if kind is dict:
            return self.dicts(values, depth)
        return [self.text(v, depth) for v in values]

    def mixed(self, values: list[Any], depth: int) -> list[str]:
        """Siblings of several types: those of each type written together, then put in order."""
        types = list(map(type, values))
        out = [""] * len(values)
        for kind in set(types):
            where = list(compress(range(len(values)), map(is_, types, repeat(kind))))
            _scatter(out, where, self.texts(list(map(values.__getitem__, where)), depth))
        return out

    def some_empty(self, values: list[Any], depth: int, empty: str) -> list[str]:
        """Containers of one type, some of them empty: those are `empty`, the rest together."""
        full = list(map(bool, values))
        out = [empty] * len(values)
        texts = self.texts(list(compress(values, full)), depth)
        _scatter(out, compress(range(len(values)), full), texts)
        return out

    def dicts(self, values: list[dict[Any, Any]], depth: int) -> list[str]:
        """Non-empty dicts: those with the same keys, in the same order, written as rows."""
        shapes = list(map(tuple, values))
        if len(set(shapes)) == 1:
            return self.rows(values, shapes[0], depth)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, shape in enumerate(shapes):
            groups.setdefault(shape, []).append(index)
        out = [""] * len(values)
        for shape, where in groups.items():
            _scatter(out, where, self.rows([values[i] for i in where], shape, depth))
        return out

    def rows(self, values: list[dict[Any, Any]], keys: tuple[Any, ...], depth: int) -> list[str]:
        """Dicts with these keys: each key's values written together, joined by row."""
        if len(values) == 1 or set(map(type, keys)) != {str}:
            return [self.text(v, depth) for v in values]
        inner = _indent(depth + 1)
        pieces: list[Iterable[str]] = []
        for index, key in enumerate(sorted(keys)):
            label = f"{',' if index else '{'}\n{inner}{self.string(key)}: "
            pieces += (repeat(label), self.texts(list(map(itemgetter(key), values)), depth + 1))
        pieces.append(repeat(f"\n{_indent(depth)}}}"))
        # The labels repeat without end; the columns, one text per row, set the length.
        return list(map("".join, zip(*pieces, strict=False)))


def _all_scalars(values: Iterable[object]) -> bool:
    return set(map(type, values)) <= _SCALARS


def _leaf_bracket(kinds: set[type], values: Sequence[Any]) -> Bracket | None:
    """The brackets of `values` when they are non-empty containers of scalars, of one kind."""
    # Types first: the truth of what json cannot write may be costly, or raise.
    if kinds == {dict}:
        full = all(values) and _all_scalars(chain.from_iterable(map(dict.values, values)))
        return _BRACES if full else None
    if kinds <= _SEQUENCES:
        return _BRACKETS if all(values) and _all_scalars(chain.from_iterable(values)) else None
    return None


def _scatter(out: list[str], where: Iterable[int], texts: list[str]) -> None:
    for index, text in zip(where, texts, strict=True):
        out[index] = text


def _open(text: str, depth: int) -> str:
    """A C-encoded container of scalars with its brackets on lines of their own."""
    return f"{text[0]}\n{_indent(depth + 1)}{text[1:-1]}\n{_indent(depth)}{text[-1]}"
