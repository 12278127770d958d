"""`git blame --porcelain` read, pure: which commit last changed each line of a config file.

A number's entry spans several lines (`- number:`, `assistant:`, `strategy:` ...); the commit
that last set its value is the newest among them, so `entry_lines` finds the entry's extent by
indentation, as YAML's block style defines it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from inbound_sync.provenance.model import UNCOMMITTED, Commit, GitSide

UNCOMMITTED_SHA = "0" * 40


class FileBlame(NamedTuple):
    """A config file's lines, and the commit of each line blamed, or why there are none."""

    texts: tuple[str, ...] = ()
    """The file's text as blamed, line 1 at index 0."""
    shas: Mapping[int, str] = {}
    """Line number -> the sha of the commit that last changed it (the lines blamed only)."""
    commits: Mapping[str, Commit] = {}
    note: str | None = None


def parse_porcelain(output: str) -> tuple[dict[int, str], dict[str, Commit]]:
    """The commit of each line, by final line number, and the commits, from `--porcelain`."""
    shas: dict[int, str] = {}
    commits: dict[str, Commit] = {}
    headers: dict[str, str] = {}
    sha, line = "", 0
    for raw in output.split("\n"):
        if raw.startswith("\t"):
            if sha not in commits:
                commits[sha] = _commit(sha, headers)
            shas[line] = sha
            headers = {}
            continue
        key, _, value = raw.partition(" ")
        if len(key) == 40 and all(c in "0123456789abcdef" for c in key):
            sha = key
            final = value.split(" ")[1:2]
            line = int(final[0]) if final and final[0].isdigit() else line + 1
        elif key:
            headers[key] = value
    return shas, commits


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


def entry_spans(texts: Sequence[str], starts: Iterable[int]) -> list[tuple[int, int]]:
    """The line ranges (first, last) of the entries at `starts`, sorted, overlaps merged: what
    `git blame -L` needs to blame, and no more."""
    spans = sorted((r[0], r[-1]) for r in (entry_lines(texts, s) for s in starts) if r)
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def _counts(text: str) -> bool:
    body = text.strip()
    return bool(body) and not body.startswith("#")


def git_side(blame: FileBlame, line: int) -> GitSide:
    """The newest commit among the lines of the entry at `line`, or what could not be told."""
    if blame.note is not None:
        return GitSide(note=blame.note)
    span = entry_lines(blame.texts, line)
    shas = [blame.shas[n] for n in span if _counts(blame.texts[n - 1]) and n in blame.shas]
    if not shas:
        return GitSide(note=f"line {line} is not in the file git blamed")
    committed = [blame.commits[s] for s in shas if s != UNCOMMITTED_SHA]
    newest = max(committed, key=lambda c: (c.committed, c.authored), default=None)
    if UNCOMMITTED_SHA in shas:
        return GitSide(newest, uncommitted=True, note=UNCOMMITTED)
    return GitSide(newest)
