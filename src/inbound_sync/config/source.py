"""YAML reading that remembers where every key and item came from, and refuses duplicate keys."""

from __future__ import annotations

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

    line: int
    key_lines: dict[Any, int]


class LocatedList(list[Any]):
    """A sequence that knows the 1-based line of each of its items."""

    line: int
    item_lines: list[int]


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"


class _Loader(_BaseLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.issues: list[ConfigIssue] = []
        self.path = ""

    def _value(self, node: yaml.Node) -> Any:
        # String and null scalars are built here as construct_yaml_str and construct_yaml_null
        # build them; skipping the generic construct_object for them halves the time of a large
        # file. Every other node takes the usual way.
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            if node.tag == _NULL:
                return None
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LocatedDict:
        self.flatten_mapping(node)
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        key_lines: dict[Any, int] = {}
        result.key_lines = key_lines
        for key_node, value_node in node.value:
            key = self._value(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                self.issues.append(ConfigIssue(self.path, line, "", "a key must be a plain value"))
                continue
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
