"""The config language: YAML files in, one DesiredState out, or a ConfigError naming every problem.

source.py   YAML with line numbers, duplicate keys refused
model.py    the file format (pydantic), also the JSON Schema
resolve.py  merging files, resolving aliases and normalizing numbers
state.py    DesiredState, the immutable result
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from inbound_sync.config.model import json_schema
from inbound_sync.config.resolve import (
    NormalizeAll,
    ParsedFile,
    canonical_id,
    resolve,
)
from inbound_sync.config.state import DesiredNumber, DesiredState, SafetyPolicy
from inbound_sync.config.workers import Ready, pool
from inbound_sync.errors import ConfigError, ConfigIssue

DEFAULT_PATH = "inbound.yaml"

__all__ = [
    "DEFAULT_PATH",
    "DesiredNumber",
    "DesiredState",
    "SafetyPolicy",
    "canonical_id",
    "expand_paths",
    "json_schema",
    "load",
    "load_many",
]


def expand_paths(paths: Sequence[str]) -> tuple[list[Path], list[ConfigIssue]]:
    """Files as given, and every YAML file under directories, sorted, recursively.

    Inside a directory, names starting with "." are skipped (.github/workflows and
    .pre-commit-config.yaml are not config), and `.yaml`/`.yml` match in any case. A
    directory that cannot be read is an issue, never silently skipped: a protected number
    declared inside it would otherwise look undeclared.
    """
    found: list[Path] = []
    issues: list[ConfigIssue] = []
    for name in paths or [DEFAULT_PATH]:
        path = Path(name)
        if path.is_dir():
            before = len(issues)
            inside = _yaml_files(path, issues)
            if not inside and len(issues) == before:
                issues.append(
                    ConfigIssue(name, None, "", "directory holds no *.yaml or *.yml files")
                )
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            issues.append(ConfigIssue(name, None, "", "no such file or directory"))
    return list(dict.fromkeys(found)), issues


def _yaml_files(top: Path, issues: list[ConfigIssue]) -> list[Path]:
    def unreadable(error: OSError) -> None:
        where = error.filename or str(top)
        reason = error.strerror or type(error).__name__
        issues.append(ConfigIssue(str(where), None, "", f"cannot read directory: {reason}"))

    files: list[Path] = []
    for folder, dirs, names in os.walk(top, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for n in names:
            candidate = Path(folder, n)
            # A dangling link is kept, so that reading it reports it; a FIFO would block.
            if _is_yaml_name(n) and (candidate.is_file() or candidate.is_symlink()):
                files.append(candidate)
    return sorted(files)


def _is_yaml_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith((".yaml", ".yml"))


def load(
    paths: Sequence[str], *, workers: int | None = None, on_ready: Ready | None = None
) -> DesiredState:
    """Read, validate, merge and resolve config files; raises ConfigError with every issue.

    A large config is parsed on several cores (see config.workers); `workers` sets how many
    processes, 1 for this one alone, None to decide by size. `on_ready` is called once, as the
    parsing begins, when this process may start a thread (see workers.pool).
    """
    files, issues = expand_paths(paths)
    with pool(files, workers, on_ready) as workers_pool:
        parsed: list[ParsedFile] = []
        for result, found in workers_pool.read(files):
            issues.extend(found)
            if result is not None:
                parsed.append(result)
        # Every file that parses is resolved, so that one file's syntax error does not hide
        # another's unknown alias or duplicate number; only what cannot be judged is held back.
        state, more = resolve(
            parsed, workers_pool.normalize_all, all_read=len(parsed) == len(files)
        )
    issues.extend(more)
    if issues or state is None:
        raise ConfigError(issues)
    return state


def load_many(
    groups: Sequence[Sequence[str]], *, workers: int | None = None, on_ready: Ready | None = None
) -> list[DesiredState | ConfigError]:
    """load() of several configs at once (a fleet's targets), each result in its place.

    One pool of workers reads the files of all of them, sized by their total: many configs too
    small for workers on their own are, together, parsed on every core. A file that several
    configs share is read once. `on_ready` is called as in load().
    """
    expanded = [expand_paths(paths) for paths in groups]
    every = list(dict.fromkeys(path for files, _ in expanded for path in files))
    results: list[DesiredState | ConfigError] = []
    with pool(every, workers, on_ready) as workers_pool:
        checked = dict(zip(every, workers_pool.read(every), strict=True))
        for files, issues in expanded:
            results.append(_resolved(files, issues, checked, workers_pool.normalize_all))
    return results


def _resolved(
    files: list[Path],
    issues: list[ConfigIssue],
    checked: dict[Path, tuple[ParsedFile | None, list[ConfigIssue]]],
    normalize_all: NormalizeAll,
) -> DesiredState | ConfigError:
    found = list(issues)
    parsed: list[ParsedFile] = []
    for path in files:
        result, problems = checked[path]
        found.extend(problems)
        if result is not None:
            parsed.append(result)
    state, more = resolve(parsed, normalize_all, all_read=len(parsed) == len(files))
    found.extend(more)
    if found or state is None:
        return ConfigError(found)
    return state
