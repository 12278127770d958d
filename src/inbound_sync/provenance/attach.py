"""Provenance attached to a plan's changes, pure: the account's row and git's blame, judged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from inbound_sync.plan import Change, Plan, RemoteRow
from inbound_sync.provenance.blame import FileBlame, git_side
from inbound_sync.provenance.model import (
    NOT_DECLARED,
    GitSide,
    Provenance,
    Provenances,
    account_side,
    judge,
)


def split_source(source: str) -> tuple[str, int | None]:
    """'path:line' as the config records it; a path alone has no line."""
    path, _, line = source.rpartition(":")
    if path and line.isascii() and line.isdigit():
        return path, int(line)
    return source, None


def blamed_lines(plan: Plan) -> dict[str, list[int]]:
    """The config files that declare a changed number, with the first line of each entry."""
    found: dict[str, list[int]] = {}
    for change in plan.changes:
        if change.source:
            path, line = split_source(change.source)
            found.setdefault(path, [])
            if line is not None:
                found[path].append(line)
    return found


def rows_of(plan: Plan, rows: Iterable[RemoteRow]) -> dict[str, RemoteRow]:
    """The account's rows of the changed numbers only (a large account has few changes)."""
    wanted = {c.normalized for c in plan.changes}
    return {r.normalized: r for r in rows if r.normalized in wanted}


def provenance_of(
    change: Change, row: RemoteRow | None, blames: Mapping[str, FileBlame]
) -> Provenance:
    account = account_side(row)
    if change.source is None:
        git = GitSide(note=NOT_DECLARED)
    else:
        path, line = split_source(change.source)
        blame = blames.get(path)
        if blame is None or line is None:
            git = GitSide(note=f"{path} was not blamed")
        else:
            git = git_side(blame, line)
    return Provenance(account, git, judge(account, git))


def attach(
    plan: Plan,
    rows: Iterable[RemoteRow],
    blames: Mapping[str, FileBlame],
    now: datetime,
    *,
    in_git: bool,
) -> Provenances:
    """The provenance of every change of `plan`."""
    by_row = rows_of(plan, rows)
    found = {c.normalized: provenance_of(c, by_row.get(c.normalized), blames) for c in plan.changes}
    return Provenances(now, found, in_git)
