"""git's history of a number's declaration, for `history`: `git log` and `git cat-file`.

Two processes whatever the history's length: one `git log --raw` of every YAML file's changes,
and one `git cat-file --batch` for the file versions those changes name. history.py does the
reading; failures become notes, as everywhere in provenance.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from inbound_sync.provenance.git import WorkTree, run_git, run_git_bytes, work_tree
from inbound_sync.provenance.history import (
    LOG_FORMAT,
    Event,
    git_events,
    parse_log,
    relevant,
)

YAML_FILES = (":(glob,icase)**/*.yaml", ":(glob,icase)**/*.yml")


class GitHistory(NamedTuple):
    """The commits that changed the number's declaration, newest first, and what is missing."""

    events: tuple[Event, ...]
    notes: tuple[str, ...]


def declaration_history(paths: Sequence[str], normalized: str, region: str) -> GitHistory:
    """Every commit that declared, changed, moved or removed the number under `paths`."""
    targets = [Path(p) for p in paths]
    anchor = targets[0] if targets[0].is_dir() else targets[0].parent
    tree = work_tree(anchor)
    if isinstance(tree, str):
        return GitHistory((), (f"no git history: {tree}",))
    prefixes, notes = _prefixes(targets, tree)
    literal = [f":(literal){p}" for p in prefixes if not p.lower().endswith((".yaml", ".yml"))]
    args = ["log", "-z", "--raw", "--no-abbrev", "-M", f"--format={LOG_FORMAT}"]
    found = run_git([*args, "--", *YAML_FILES, *literal], tree.top)
    if found.output is None:
        return GitHistory((), (*notes, f"no git history: {found.problem}"))
    commits = relevant(parse_log(found.output), prefixes)
    blobs = read_blobs(
        tree.top, (b for c in commits for f in c.changes for b in (f.old_blob, f.new_blob) if b)
    )
    events = git_events(commits, blobs, normalized, region)
    if tree.shallow:
        oldest = commits[-1].commit if commits else None
        since = f" before {oldest.committed:%Y-%m-%d}" if oldest else ""
        notes.append(f"a shallow clone: its history{since} is missing (fetch the full history)")
    return GitHistory(tuple(events), tuple(notes))


def _prefixes(targets: Sequence[Path], tree: WorkTree) -> tuple[list[str], list[str]]:
    """The paths, relative to the top of the work tree; those outside it are noted."""
    top = tree.top.resolve()
    prefixes, notes = [], []
    for target in targets:
        relative = os.path.relpath(target.resolve(), top)
        if relative == ".." or relative.startswith(".." + os.sep):
            notes.append(f"{target} is outside the git work tree {top}; its history is not read")
            continue
        prefixes.append(relative.replace(os.sep, "/"))
    return prefixes, notes


def read_blobs(top: Path, shas: Iterable[str]) -> dict[str, str]:
    """The text of each blob, by sha, from one `git cat-file --batch`; missing ones are left out."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    found = run_git_bytes(["cat-file", "--batch"], top, stdin="\n".join(wanted).encode() + b"\n")
    return parse_batch(found.output or b"")


def parse_batch(output: bytes) -> dict[str, str]:
    """`git cat-file --batch` output: '<sha> <type> <size>\\n<content>\\n' per object."""
    blobs: dict[str, str] = {}
    at = 0
    while at < len(output):
        end = output.find(b"\n", at)
        if end < 0:
            break
        header = output[at:end].split()
        at = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # '<sha> missing'
        size = int(header[2])
        blobs[header[0].decode()] = output[at : at + size].decode("utf-8", errors="replace")
        at += size + 1
    return blobs
