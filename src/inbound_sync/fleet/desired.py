"""Every target's config loaded, and the rule across targets: a number lives in one account."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from inbound_sync.config import DesiredState
from inbound_sync.errors import ConfigError, ConfigIssue
from inbound_sync.fleet.file import Target
from inbound_sync.phone import display

LoadAll = Callable[[Sequence[Sequence[str]]], Sequence[DesiredState | ConfigError]]
"""config.load_many: each config's state or its errors, in order."""


class TargetState(NamedTuple):
    """One target and what its config asks of its account."""

    target: Target
    desired: DesiredState


def load_states(targets: Sequence[Target], load_all: LoadAll) -> tuple[TargetState, ...]:
    """Every target's config through `load_all`, then the cross-target check; one ConfigError
    for all the problems of all the targets."""
    issues: list[ConfigIssue] = []
    states: list[TargetState] = []
    for target, found in zip(targets, load_all([t.config for t in targets]), strict=True):
        if isinstance(found, ConfigError):
            issues += [
                i._replace(message=f"{i.message} (target {target.name})") for i in found.issues
            ]
        else:
            states.append(TargetState(target, found))
    issues += declared_twice(states)
    if issues:
        raise ConfigError(issues)
    return tuple(states)


def declared_twice(states: Iterable[TargetState]) -> list[ConfigIssue]:
    """A number declared present in two targets of one system: the API lets only one hold it.

    Each is reported at the later declaration, naming the first; targets on different systems
    have separate number spaces and may declare the same number.
    """
    first: dict[tuple[str, str], tuple[str, str | None]] = {}
    issues = []
    for target, desired in states:
        for number in desired.numbers:
            if number.ensure != "present":
                continue
            key = (target.system, number.normalized)
            owner = first.setdefault(key, (target.name, number.source))
            if owner[0] == target.name:
                continue
            path, line = split_source(number.source or target.source)
            issues.append(
                ConfigIssue(
                    path,
                    line,
                    "",
                    f"{display(number.normalized)} is declared present in target {target.name} "
                    f"and in target {owner[0]} at {owner[1]}; both are on {target.system}, "
                    "where a number can be held by one account only",
                )
            )
    return issues


def split_source(source: str) -> tuple[str, int | None]:
    """'file:line' as (file, line); a source without a line keeps the whole as the file."""
    path, _, line = source.rpartition(":")
    if path and line.isascii() and line.isdigit():
        return path, int(line)
    return source, None
