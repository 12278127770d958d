"""A number's story, pure: the commits that changed its declaration, the writes apply logged,
and the account's row, merged newest first.

git's side is read from `git log --raw` (log.py runs it): every commit that changed a YAML file
under the config paths, or a file that was later renamed into them. For each such file the
number's entry is looked up before and after the commit by parsing the YAML and normalizing
every number, so that a number written differently (`080 4431 9240`, `+918044319240`) is still
the same number, and one moved to another file is followed there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple

import yaml

from inbound_sync.phone import PhoneError, normalize
from inbound_sync.plan import RemoteRow
from inbound_sync.provenance.model import Commit, iso, parse_time

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Source = Literal["git", "apply", "account"]
ZERO = "0" * 40


class FileChange(NamedTuple):
    """One file in a commit's `--raw` diff; a path or blob is None where the file is absent."""

    status: str
    old_path: str | None
    new_path: str | None
    old_blob: str | None
    new_blob: str | None


class LoggedCommit(NamedTuple):
    commit: Commit
    changes: tuple[FileChange, ...]


class Event(NamedTuple):
    """One thing that happened to the number: when, where it is known from, and what."""

    time: datetime | None
    source: Source
    summary: str
    details: tuple[str, ...] = ()
    data: Mapping[str, Any] = {}

    def to_json(self) -> dict[str, Any]:
        return {
            "time": iso(self.time) if self.time else None,
            "source": self.source,
            "summary": self.summary,
            "details": list(self.details),
            **self.data,
        }


# -- git log --------------------------------------------------------------------------------

LOG_FORMAT = "%x1e%H%x1f%an%x1f%at%x1f%ct%x1f%s"


def parse_log(output: str) -> list[LoggedCommit]:
    """`git log -z --raw --no-abbrev --format=LOG_FORMAT` output, newest first as git prints."""
    commits = []
    for record in output.split("\x1e")[1:]:
        header, _, raw = record.partition("\x00")
        fields = header.split("\x1f")
        if len(fields) < 5:
            continue
        sha, author, authored, committed, subject = fields[:5]
        commit = Commit(sha, author, _epoch(authored), _epoch(committed), subject)
        commits.append(LoggedCommit(commit, tuple(_raw_changes(raw.lstrip("\n")))))
    return commits


def _epoch(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) if text.isdigit() else 0, timezone.utc)


def _raw_changes(raw: str) -> Iterable[FileChange]:
    tokens = raw.split("\x00")
    index = 0
    while index < len(tokens):
        meta = tokens[index]
        if not meta.startswith(":"):
            index += 1
            continue
        parts = meta[1:].split()
        if len(parts) < 5:
            index += 1
            continue
        old_blob, new_blob, status = parts[2], parts[3], parts[4][:1]
        two = status in ("R", "C")
        paths = tokens[index + 1 : index + (3 if two else 2)]
        index += 3 if two else 2
        if len(paths) < (2 if two else 1):
            break
        old_path, new_path = (paths[0], paths[1]) if two else (paths[0], paths[0])
        yield FileChange(
            status,
            None if status == "A" else old_path,
            None if status == "D" else new_path,
            None if old_blob == ZERO else old_blob,
            None if new_blob == ZERO else new_blob,
        )


def under(path: str, prefixes: Iterable[str]) -> bool:
    """True when `path` is one of `prefixes` or inside one ('.' is the whole repository)."""
    return any(p == "." or path == p or path.startswith(p + "/") for p in prefixes)


def relevant(commits: Sequence[LoggedCommit], prefixes: Sequence[str]) -> list[LoggedCommit]:
    """The commits' changes to files under `prefixes`, or to files later renamed into them.

    Walking from the newest commit back, a rename into a followed path makes its old path
    followed too, so a config file's history goes on past its renames.
    """
    followed: set[str] = set()
    kept = []
    for logged in commits:
        mine = []
        for change in logged.changes:
            paths = [p for p in (change.old_path, change.new_path) if p is not None]
            if any(under(p, prefixes) or p in followed for p in paths):
                mine.append(change)
                if change.old_path is not None:
                    followed.add(change.old_path)
        if mine:
            kept.append(logged._replace(changes=tuple(mine)))
    return kept


# -- entries in a YAML file ------------------------------------------------------------------

Entry = dict[str, Any]
UNREADABLE: Entry = {"": "unreadable"}
"""Marks a file version that is not YAML: what it held cannot be told."""

_SEPARATORS = r"[\s\-./()]*"


def digits_pattern(normalized: str) -> re.Pattern[str]:
    """Text that may hold the number in any format: its last seven digits, in order, with the
    separators people write between them (a cheap test before parsing a file's YAML)."""
    return re.compile(_SEPARATORS.join(normalized[-7:]))


def find_entry(text: str, normalized: str, region: str, pattern: re.Pattern[str]) -> Entry | None:
    """The entry of `numbers` declaring the number in a config file's text; None if none does."""
    if not pattern.search(text):
        return None
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return UNREADABLE
    if not isinstance(document, dict) or not isinstance(document.get("numbers"), list):
        return None
    defaults = document.get("defaults")
    file_region = defaults.get("region") if isinstance(defaults, dict) else None
    for item in document["numbers"]:
        if isinstance(item, dict) and _declares(item, normalized, file_region or region):
            return {str(k): v for k, v in item.items()}
    return None


def _declares(item: Mapping[Any, Any], normalized: str, region: object) -> bool:
    written, own = item.get("number"), item.get("region")
    if not isinstance(written, (str, int)):
        return False
    chosen = own if isinstance(own, str) else region if isinstance(region, str) else "IN"
    try:
        found = normalize(str(written), chosen.upper(), allow_unverified=True)
    except (PhoneError, ValueError):
        return False
    return found.normalized == normalized


# -- a commit's effect on the number -----------------------------------------------------------

_FIELDS = ("assistant", "strategy", "ensure", "protect", "region", "description", "number")


def describe(entry: Entry) -> str:
    """'assistant support + strategy crm', 'ensure: absent', 'assistant null (detached)'."""
    if entry.get("ensure") == "absent":
        return "ensure: absent (released)"
    assistant = entry.get("assistant")
    text = "assistant null (detached)" if assistant is None else f"assistant {assistant}"
    if entry.get("strategy") is not None:
        text += f" + strategy {entry['strategy']}"
    if entry.get("protect") is True:
        text += ", protected"
    return text


def differences(before: Entry, after: Entry) -> list[str]:
    """'assistant sales → support', one per setting that changed (the number's spelling too)."""
    found = []
    for name in _FIELDS:
        old, new = before.get(name), after.get(name)
        if old != new:
            found.append(f"{name} {_shown(old)} → {_shown(new)}")
    return found


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def effect(
    before: Mapping[str, Entry], after: Mapping[str, Entry]
) -> tuple[list[str], list[dict[str, Any]]]:
    """What a commit did to the number's declaration, given the entry in each changed file
    before and after it: lines to show, and the same as JSON."""
    lines: list[str] = []
    data: list[dict[str, Any]] = []
    gone = [p for p in before if p not in after]
    new = [p for p in after if p not in before]
    for path in [p for p in after if p in before]:
        changed = differences(before[path], after[path])
        if changed:
            lines.append(f"{path}: {', '.join(changed)}")
            data.append(_json("changed", path, before[path], after[path]))
    while gone and new:
        old_path, new_path = gone.pop(0), new.pop(0)
        changed = differences(before[old_path], after[new_path])
        lines.append(
            f"moved from {old_path} to {new_path}" + (f": {', '.join(changed)}" if changed else "")
        )
        data.append(_json("moved", new_path, before[old_path], after[new_path], old_path))
    for path in new:
        lines.append(f"declared in {path}: {describe(after[path])}")
        data.append(_json("declared", path, None, after[path]))
    for path in gone:
        lines.append(f"removed from {path}")
        data.append(_json("removed", path, before[path], None))
    return lines, data


def _json(
    kind: str, path: str, before: Entry | None, after: Entry | None, origin: str | None = None
) -> dict[str, Any]:
    return {"kind": kind, "path": path, "from": origin, "before": before, "after": after}


def commit_event(commit: Commit, lines: Sequence[str], data: Sequence[dict[str, Any]]) -> Event:
    return Event(
        commit.committed,
        "git",
        f"{commit.short} {commit.author}: {commit.subject}",
        tuple(lines),
        {"commit": commit.to_json(), "changes": list(data)},
    )


def git_events(
    commits: Sequence[LoggedCommit],
    blobs: Mapping[str, str],
    normalized: str,
    region: str,
) -> list[Event]:
    """An event per commit that changed the number's entry, newest first.

    A file version that is not readable YAML is left out of its commit's comparison, rather
    than read as the number's removal.
    """
    pattern = digits_pattern(normalized)
    entries: dict[str, Entry | None] = {}

    def entry(blob: str | None) -> Entry | None:
        if blob is None:
            return None
        if blob not in entries:
            entries[blob] = find_entry(blobs.get(blob, ""), normalized, region, pattern)
        return entries[blob]

    events = []
    for logged in commits:
        before, after = {}, {}
        for change in logged.changes:
            old, new = entry(change.old_blob), entry(change.new_blob)
            if old is UNREADABLE or new is UNREADABLE:
                continue
            if old is not None and change.old_path is not None:
                before[change.old_path] = old
            if new is not None and change.new_path is not None:
                after[change.new_path] = new
        lines, data = effect(before, after)
        if lines:
            events.append(commit_event(logged.commit, lines, data))
    return events


# -- the account, and the story ---------------------------------------------------------------


def account_events(row: RemoteRow | None, binding: str) -> list[Event]:
    """The account's row: when it was created, and when it last changed, to what it is now."""
    if row is None:
        return []
    created, updated = parse_time(row.created_at), parse_time(row.updated_at)
    data = {
        "inbound_id": row.inbound_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if updated is not None and created is not None and updated == created:
        return [Event(created, "account", f"created in the account: {binding}", (), data)]
    events = []
    if created is not None:
        events.append(Event(created, "account", "created in the account", (), data))
    last = "last changed in the account" if updated is not None else "in the account now"
    events.append(Event(updated, "account", f"{last}: {binding}", (), data))
    return events


_RANK: dict[Source, int] = {"git": 0, "apply": 1, "account": 2}


def story(*sources: Sequence[Event]) -> list[Event]:
    """Every source's events (each given oldest first), merged newest first.

    An event without a time (the account's row as it is now) comes first. At the same second
    the account comes before apply and apply before git, as one leads to the other; within a
    source, its own order.
    """
    latest = datetime.max.replace(tzinfo=timezone.utc)
    # To the second, as the account and git keep time: apply's milliseconds would otherwise put
    # a write after the account's record of it.
    keyed = [
        (((event.time or latest).replace(microsecond=0), _RANK[event.source], index), event)
        for events in sources
        for index, event in enumerate(events)
    ]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [event for _, event in keyed]


class History(NamedTuple):
    """A number's story, and where it stands now on each side."""

    normalized: str
    declared: str | None
    """Where git declares it now and as what ('inbound.yaml:8: assistant support'), if it does."""
    account: str | None
    """What the account has now ('assistant Sales Assistant'), if it has the number."""
    row: RemoteRow | None
    events: tuple[Event, ...]
    notes: tuple[str, ...]
