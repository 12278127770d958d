"""The config language: YAML files in, one DesiredState out, or a ConfigError naming every problem.

source.py   YAML with line numbers, duplicate keys refused
model.py    the file format (pydantic), also the JSON Schema
resolve.py  merging files, resolving aliases and normalizing numbers
state.py    DesiredState, the immutable result
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inbound_sync.config.model import json_schema
from inbound_sync.config.resolve import ParsedFile, resolve, validate_document
from inbound_sync.config.state import DesiredNumber, DesiredState, SafetyPolicy
from inbound_sync.config.workers import pool
from inbound_sync.errors import ConfigError, ConfigIssue

DEFAULT_PATH = "inbound.yaml"

__all__ = [
    "DEFAULT_PATH",
    "DesiredNumber",
    "DesiredState",
    "SafetyPolicy",
    "expand_paths",
    "json_schema",
    "load",
]


def expand_paths(paths: Sequence[str]) -> tuple[list[Path], list[ConfigIssue]]:
    """Files as given, and every *.yaml / *.yml under directories, sorted, recursively."""
    found: list[Path] = []
    issues: list[ConfigIssue] = []
    for name in paths or [DEFAULT_PATH]:
        path = Path(name)
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            if not inside:
                issues.append(
                    ConfigIssue(name, None, "", "directory holds no *.yaml or *.yml files")
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            issues.append(ConfigIssue(name, None, "", "no such file or directory"))
    return list(dict.fromkeys(found)), issues


def load(paths: Sequence[str], *, workers: int | None = None) -> DesiredState:
    """Read, validate, merge and resolve config files; raises ConfigError with every issue.

    A large config is parsed on several cores (see config.workers); `workers` sets how many
    processes, 1 for this one alone, None to decide by size.
    """
    files, issues = expand_paths(paths)
    with pool(files, workers) as workers_pool:
        parsed: list[ParsedFile] = []
        for document in workers_pool.read(files):
            result, found = validate_document(document)
            issues.extend(found)
            if result is not None:
                parsed.append(result)
        if len(parsed) < len(files):
            # A file whose settings or aliases are unreadable would make others' references
            # look wrong too; report what is certain and stop.
            raise ConfigError(issues)
        state, more = resolve(parsed, workers_pool.normalize_all)
    issues.extend(more)
    if issues or state is None:
        raise ConfigError(issues)
    return state
