"""`git blame --porcelain` read, pure: which commit last changed each line of a config file.

A number's entry spans several lines (`- number:`, `assistant:`, `strategy:` ...); the commit
that last set its value is the newest among them, so `entry_lines` finds the entry's extent by
indentation, as YAML's block style defines it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from inbound_sync.provenance.model import UNCOMMITTED, Commit, GitSide

UNCOMMITTED_SHA = "0" * 40


class BlamedLine(NamedTuple):
    sha: str
    text: str


class FileBlame(NamedTuple):
    """A file's lines with the commit of each (line 1 at index 0), or why there are none."""

    lines: tuple[BlamedLine, ...] = ()
    commits: Mapping[str, Commit] = {}
    note: str | None = None


def parse_porcelain(output: str) -> FileBlame:
    """The lines and commits of `git blame --porcelain` output."""
    lines: list[BlamedLine] = []
    commits: dict[str, Commit] = {}
    headers: dict[str, str] = {}
    sha = ""
    for raw in output.split("\n"):
        if raw.startswith("\t"):
            if sha not in commits:
                commits[sha] = _commit(sha, headers)
            lines.append(BlamedLine(sha, raw[1:]))
            headers = {}
            continue
        key, _, value = raw.partition(" ")
        if len(key) == 40 and all(c in "0123456789abcdef" for c in key):
            sha = key
        elif key:
            headers[key] = value
    return FileBlame(tuple(lines), commits)


def _commit(sha: str, headers: Mapping[str, str]) -> Commit:
    return Commit(
        sha=sha,
        author=headers.get("author", ""),
        authored=_epoch(headers.get("author-time")),
        committed=_epoch(headers.get("committer-time")),
        subject=headers.get("summary", ""),
        boundary="boundary" in headers,
    )


def _epoch(text: str | None) -> datetime:
    seconds = int(text) if text and text.isdigit() else 0
    return datetime.fromtimestamp(seconds, timezone.utc)


def entry_lines(texts: Sequence[str], start: int) -> range:
    """Lines (1-based) of the YAML block entry whose first line is `start`.

    Below a `- ` item, the entry goes on while lines are indented deeper than its dash; a
    mapping that starts on its own line (after a bare `-`) goes on at its own indentation.
    Blank and comment lines neither end nor extend it.
    """
    if not 1 <= start <= len(texts):
        return range(0)
    first = texts[start - 1]
    indent = len(first) - len(first.lstrip(" "))
    dashed = first.lstrip(" ").startswith("-")
    end = start
    for number in range(start + 1, len(texts) + 1):
        text = texts[number - 1]
        body = text.strip()
        if not body or body.startswith("#"):
            continue
        depth = len(text) - len(text.lstrip(" "))
        if depth < indent or (dashed and depth == indent):
            break
        end = number
    return range(start, end + 1)


def git_side(blame: FileBlame, line: int) -> GitSide:
    """The newest commit among the lines of the entry at `line`, or what could not be told."""
    if blame.note is not None:
        return GitSide(note=blame.note)
    texts = [b.text for b in blame.lines]
    span = entry_lines(texts, line)
    shas = [
        blame.lines[n - 1].sha
        for n in span
        if blame.lines[n - 1].text.strip() and not blame.lines[n - 1].text.strip().startswith("#")
    ]
    if not shas:
        return GitSide(note=f"line {line} is not in the file git blamed")
    committed = [blame.commits[s] for s in shas if s != UNCOMMITTED_SHA]
    newest = max(committed, key=lambda c: (c.committed, c.authored), default=None)
    if UNCOMMITTED_SHA in shas:
        return GitSide(newest, uncommitted=True, note=UNCOMMITTED)
    return GitSide(newest)
