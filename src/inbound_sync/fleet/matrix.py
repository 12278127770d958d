"""The jobs of a CI fan-out, pure: one per target, except that the ends of a move share a job.

A move must run in one process (its delete before its assign), so targets linked by moves,
directly or through a chain, are applied by one job that holds the keys of all of them. Each
entry names, in fixed slots (key_1 ... key_N), the variables its targets read their keys from
(their api_key_env): the job's step hands each key to the tool under that name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from inbound_sync.errors import UsageError
from inbound_sync.fleet.file import Target
from inbound_sync.fleet.moves import Move

KEY_SLOTS = 4
"""Key variables one job names: the targets of the largest group of moves one job applies."""


class Job(NamedTuple):
    targets: tuple[Target, ...]

    @property
    def name(self) -> str:
        return "+".join(t.name for t in self.targets)

    def entry(self) -> dict[str, Any]:
        """The matrix entry: names for the job and its concurrency group, and key slots."""
        keys = [t.key_env for t in self.targets if t.key_env is not None]
        slots = {f"key_{i + 1}": (keys[i] if i < len(keys) else "") for i in range(KEY_SLOTS)}
        return {"name": self.name, "targets": " ".join(t.name for t in self.targets), **slots}


def jobs(targets: Sequence[Target], moves: Iterable[Move] = ()) -> list[Job]:
    """The targets in jobs, in name order; those a move links, directly or not, in one job."""
    group = {t.name: t.name for t in targets}

    def root(name: str) -> str:
        while group[name] != name:
            group[name] = group[group[name]]
            name = group[name]
        return name

    for move in moves:
        if move.source in group and move.dest in group:
            group[root(move.source)] = root(move.dest)
    found: dict[str, list[Target]] = {}
    for target in sorted(targets, key=lambda t: t.name):
        found.setdefault(root(target.name), []).append(target)
    result = sorted((Job(tuple(members)) for members in found.values()), key=lambda j: j.name)
    for job in result:
        if len(job.targets) > KEY_SLOTS:
            raise UsageError(
                f"moves link {len(job.targets)} targets ({', '.join(t.name for t in job.targets)}),"
                f" more than the {KEY_SLOTS} keys one CI job receives; apply them from one run "
                "outside the matrix, or split the change into smaller pull requests"
            )
    return result


def matrix(selected: Sequence[Job]) -> dict[str, Any]:
    """The document for `strategy.matrix: ${{ fromJSON(...) }}`."""
    return {"include": [job.entry() for job in selected]}
