"""Provenance: who and when, for each number that differs between git and the account.

    model.py     Commit, AccountSide, GitSide, Provenance (immutable records) and the verdict
    blame.py     `git blame --porcelain` parsed, and the lines of a config entry (pure)
    attach.py    a plan's changes paired with the account's rows and git's blame (pure)
    git.py       the subprocesses: rev-parse, one blame per config file; collect()
    history.py   a number's story: git commits, apply audit logs, the account's row (pure)
    log.py       git log and git cat-file for history (I/O)
    audit.py     the JSON-lines audit logs that `apply --log-file` writes, read back
    baseline.py  drift already reported: a previous drift document, read and compared

git is I/O at the edge: `plan` never calls it, and `render` only shows these records.
"""

from inbound_sync.provenance.git import collect, utc_now
from inbound_sync.provenance.model import (
    AccountSide,
    Commit,
    GitSide,
    Provenance,
    Provenances,
    Verdict,
)

__all__ = [
    "AccountSide",
    "Commit",
    "GitSide",
    "Provenance",
    "Provenances",
    "Verdict",
    "collect",
    "utc_now",
]
