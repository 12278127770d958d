"""The records of provenance, pure: who changed a number last and when, in git and in the account.

A change's provenance pairs the account's side (the mapping's `updated_at`, and `created_at`)
with git's side (the commit that last changed the config entry declaring the number), and
judges which changed last. Each side says what it could not tell instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple

from inbound_sync.plan import RemoteRow

Verdict = Literal["account", "git"]
"""Which side changed last: the account (after git last set the value), or git (not applied?)."""

_PULL_REQUEST = re.compile(r"\(#(\d+)\)")


class Commit(NamedTuple):
    """A git commit as provenance shows it: who, when, and what it said."""

    sha: str
    author: str
    authored: datetime
    committed: datetime
    subject: str
    boundary: bool = False
    """True at the edge of a shallow clone: the line was set by this commit or an older one."""

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def pull_request(self) -> int | None:
        """The pull request a merge tool wrote into the subject, as in 'Fix routing (#42)'."""
        found = _PULL_REQUEST.findall(self.subject)
        return int(found[-1]) if found else None

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "author": self.author,
            "authored_at": iso(self.authored),
            "committed_at": iso(self.committed),
            "subject": self.subject,
            "pull_request": self.pull_request,
            "shallow_boundary": self.boundary,
        }

    @property
    def title(self) -> str:
        """The subject without its pull-request reference."""
        number = self.pull_request
        if number is None:
            return self.subject
        head, _, tail = self.subject.rpartition(f"(#{number})")
        return (head.rstrip() + tail).strip() or self.subject


class AccountSide(NamedTuple):
    """When the account last changed the mapping, or what could not be told."""

    updated_at: datetime | None = None
    created_at: datetime | None = None
    note: str | None = None


class GitSide(NamedTuple):
    """The commit that last changed the entry declaring the number, or what could not be told."""

    commit: Commit | None = None
    uncommitted: bool = False
    """The entry has edits in the work tree that no commit holds."""
    note: str | None = None


class Provenance(NamedTuple):
    """Both sides of one changed number, and which of them changed last (None: cannot tell)."""

    account: AccountSide
    git: GitSide
    verdict: Verdict | None

    def to_json(self) -> dict[str, Any]:
        """The JSON form of a change's `provenance` (stable keys; times in UTC)."""
        account, git = self.account, self.git
        return {
            "account": {
                "updated_at": iso(account.updated_at) if account.updated_at else None,
                "created_at": iso(account.created_at) if account.created_at else None,
                "note": account.note,
            },
            "git": {
                "commit": git.commit.to_json() if git.commit else None,
                "uncommitted": git.uncommitted,
                "note": git.note,
            },
            "verdict": self.verdict,
        }


class Provenances(NamedTuple):
    """The provenance of each changed number, by normalized number, read at `now` (UTC)."""

    now: datetime
    by_number: Mapping[str, Provenance]
    in_git: bool = False
    """True when the config is in a git work tree."""

    def get(self, normalized: str) -> Provenance | None:
        return self.by_number.get(normalized)


NOT_IN_ACCOUNT = "not in the account"
NOT_DECLARED = "not declared in git"
NO_GIT = "not in a git work tree"
UNCOMMITTED = "edited in the work tree since the last commit"


def judge(account: AccountSide, git: GitSide) -> Verdict | None:
    """Which side changed last; None when a time is missing, the edit is uncommitted, or a tie.

    The commit's committer time counts (when the value entered the history), not its author
    time. At the edge of a shallow clone the commit is only an upper bound of git's time, so
    only "the account changed later" can be told.
    """
    changed, commit = account.updated_at, git.commit
    if changed is None or commit is None or git.uncommitted:
        return None
    if changed > commit.committed:
        return "account"
    if changed < commit.committed and not commit.boundary:
        return "git"
    return None


def account_side(row: RemoteRow | None) -> AccountSide:
    """The account's timestamps of a listed mapping, read leniently (the tool only shows them)."""
    if row is None:
        return AccountSide(note=NOT_IN_ACCOUNT)
    updated, created = parse_time(row.updated_at), parse_time(row.created_at)
    note = None
    if row.updated_at is None:
        note = "the account lists no update time"
    elif updated is None:
        note = f"the account's update time {row.updated_at!r} is not a time"
    return AccountSide(updated, created, note)


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_time(text: str | None) -> datetime | None:
    """An ISO-8601 time as UTC; one without an offset is read as UTC; anything else is None.

    Written out rather than datetime.fromisoformat, which reads 'Z' only from Python 3.11.
    """
    found = _ISO.fullmatch(text.strip()) if text else None
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = found.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone.utc,
        )
    except ValueError:  # 2025-02-30, 25:00 and the like
        return None
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        moment -= offset if sign == "+" else -offset
    return moment


def iso(moment: datetime) -> str:
    """A UTC time as JSON carries it: 2025-11-20T14:02:00Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
