"""The wording of provenance, shared by every format: when, who, and which side changed last.

Times are shown in UTC with an age counted from the moment the account was read. Notes (what
could not be told) and names are data from git or the account, escaped with the format's
function; the words around them are ours.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from inbound_sync.plan import Change
from inbound_sync.render.escape import Escape

if TYPE_CHECKING:
    from inbound_sync.provenance import Commit, Provenance
    from inbound_sync.provenance.baseline import Sighting

VERDICTS = {
    "account": "changed in the account after git last set it",
    "git": "git changed after the account last changed (not applied yet?)",
}

_UNITS = ((365 * 86_400, "year"), (30 * 86_400, "month"), (86_400, "day"), (3_600, "hour"))


def age(moment: datetime, now: datetime) -> str:
    """'3 days ago', 'just now'; a time ahead of ours says so (clocks disagree)."""
    seconds = (now - moment).total_seconds()
    if seconds < -60:
        return "ahead of this machine's clock"
    if seconds < 60:
        return "just now"
    for size, unit in _UNITS:
        # Days up to 60, then months up to 24: an age reads best in its largest whole unit.
        if seconds >= 2 * size or (unit in ("day", "hour") and seconds >= size):
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    minutes = int(seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''} ago"


def when(moment: datetime, now: datetime) -> str:
    """'2025-11-20 14:02 UTC (3 days ago)'."""
    return f"{moment:%Y-%m-%d %H:%M} UTC ({age(moment, now)})"


def account(change: Change, found: Provenance, now: datetime, esc: Escape) -> str:
    """The account's side: when it last changed the mapping (and added it, if git never had it)."""
    side = found.account
    if change.source is None and side.created_at is not None:
        text = f"added {when(side.created_at, now)}"
        if side.updated_at is not None and side.updated_at != side.created_at:
            text += f", changed {when(side.updated_at, now)}"
        return text
    if side.updated_at is not None:
        return f"changed {when(side.updated_at, now)}"
    return esc(side.note or "no time listed")


def commit(value: Commit, now: datetime, esc: Escape) -> str:
    """'1a2b3c4 by Priya, 2025-11-03 09:00 UTC (17 days ago), #42 "route Bangalore to support"'."""
    text = f"{esc(value.short)} by {esc(value.author)}, {when(value.authored, now)}"
    if abs((value.committed - value.authored).total_seconds()) >= 60:
        text += f", committed {value.committed:%Y-%m-%d %H:%M} UTC"
    pull = f"#{value.pull_request} " if value.pull_request is not None else ""
    return f'{text}, {pull}"{esc(value.title)}"'


def git(found: Provenance, now: datetime, esc: Escape) -> str:
    """git's side: the commit that last changed the entry, or what could not be told."""
    side = found.git
    if side.commit is None:
        return esc(side.note or "unknown")
    text = commit(side.commit, now, esc)
    if side.uncommitted:
        return f"{esc(side.note or '')}; last committed: {text}"
    if side.commit.boundary:
        return f"at or before {text} (a shallow clone: fetch its full history to know)"
    return text


def verdict(found: Provenance) -> str | None:
    return VERDICTS[found.verdict] if found.verdict else None


def sentence(change: Change, found: Provenance, now: datetime, esc: Escape) -> str:
    """All of it on one line: 'account: ...; git: ...; <verdict>'."""
    parts = [f"account: {account(change, found, now, esc)}", f"git: {git(found, now, esc)}"]
    said = verdict(found)
    return "; ".join([*parts, said] if said else parts)


def sighting(seen: Sighting) -> str:
    """'new since the last check' or 'reported before, first seen 2025-11-19 06:23 UTC (...)'."""
    if seen.new:
        return "new since the last check"
    return f"reported before, first seen {when(seen.first_seen, seen.checked)}"
