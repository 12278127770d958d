"""YAML reading that remembers where every key and item came from, and refuses duplicate keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from inbound_sync.errors import ConfigIssue

# The C parser is several times faster; the constructor (where lines are recorded) stays Python.
try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class LocatedDict(dict[Any, Any]):
    """A mapping that knows the 1-based line of each of its keys."""

    # Slots, not a __dict__ per instance: a large config holds one mapping per number.
    __slots__ = ("key_lines", "line")
    line: int
    key_lines: dict[Any, int]

    def without(self, key: Any) -> LocatedDict:
        """A copy without `key`, the other keys keeping their lines."""
        copy = LocatedDict((k, v) for k, v in self.items() if k != key)
        copy.line = self.line
        copy.key_lines = {k: n for k, n in self.key_lines.items() if k != key}
        return copy


class LocatedList(list[Any]):
    """A sequence that knows the 1-based line of each of its items."""

    __slots__ = ("item_lines", "line")
    line: int
    item_lines: list[int]


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
# The keys flatten_mapping acts on (merge "<<" and "="): a mapping without them needs no flattening.
_FLATTENED = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})

_PLAIN_TAGS: dict[Any, str] = {}
"""The tag of each plain scalar resolved so far (it depends on the text alone); bounded, so that
unique texts such as descriptions do not grow it without end."""
_PLAIN_TAGS_MAX = 4096


class _Loader(_BaseLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.issues: list[ConfigIssue] = []
        self.path = ""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # The C parser asks for the tag of every node. A quoted scalar is a string, which the
        # base method finds after a few tests; a plain one is matched against regular
        # expressions, and a large file repeats the same few (keys, aliases, null) on every
        # entry. A fifth of the time of a large file went here.
        if kind is yaml.ScalarNode and not self.yaml_path_resolvers:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = self._resolved(kind, value, implicit)
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return self._resolved(kind, value, implicit)

    def _resolved(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag

    def _value(self, node: yaml.Node) -> Any:
        # String and null scalars are built here as construct_yaml_str and construct_yaml_null
        # build them; skipping the generic construct_object for them halves the time of a large
        # file. Every other node takes the usual way.
        if type(node) is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag == _NULL:
                return None
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LocatedDict:
        for key_node, _ in node.value:
            if key_node.tag in _FLATTENED:
                self.flatten_mapping(node)
                break
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        key_lines: dict[Any, int] = {}
        result.key_lines = key_lines
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _STR and type(key_node) is yaml.ScalarNode:
                key = key_node.value  # the common case, _value's first, without the call
            else:
                key = self._value(key_node)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    issue = ConfigIssue(self.path, line, "", "a key must be a plain value")
                    self.issues.append(issue)
                    continue
            if type(key) is str:
                # One string per key name, not one per entry: less memory, and a worker's
                # results pickle each name once.
                key = sys.intern(key)
            if key in key_lines:
                first = key_lines[key]
                msg = f"duplicate key {key!r} (first defined on line {first})"
                self.issues.append(ConfigIssue(self.path, line, "", msg))
                continue
            result[key] = self._value(value_node)
            key_lines[key] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LocatedList:
        result = LocatedList(self._value(child) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


class YamlDocument:
    """The parsed content of one file, or the issues that stopped it from parsing."""

    def __init__(self, path: str, data: Any, issues: list[ConfigIssue]) -> None:
        self.path = path
        self.data = data
        self.issues = issues


def read_yaml(path: Path) -> YamlDocument:
    """Read one YAML file; never raises for bad content, it returns issues instead."""
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return YamlDocument(
            name, None, [ConfigIssue(name, None, "", f"cannot read: {exc.strerror}")]
        )
    except UnicodeDecodeError:
        return YamlDocument(name, None, [ConfigIssue(name, None, "", "is not UTF-8 text")])
    return parse_yaml(name, text)


def parse_yaml(name: str, text: str) -> YamlDocument:
    """Parse YAML text that came from `name`."""
    loader = _Loader(text)
    loader.path = name
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        return YamlDocument(name, None, [ConfigIssue(name, line, "", f"invalid YAML: {problem}")])
    except yaml.YAMLError as exc:
        return YamlDocument(name, None, [ConfigIssue(name, None, "", f"invalid YAML: {exc}")])
    finally:
        loader.dispose()
    return YamlDocument(name, data, loader.issues)


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest node along `loc` that has one."""
    line: int | None = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LocatedDict) and part in node.key_lines:
            line, node = node.key_lines[part], node[part]
        elif isinstance(node, LocatedList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.item_lines[part], node[part]
        else:
            break
    return line
