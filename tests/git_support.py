"""Real git repositories for the provenance tests, with fixed authors and dates.

Git reads no user or system config here (GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM), so what a
test builds does not depend on the machine; names, e-mails and dates come from the environment
of each commit.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

ISOLATED = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def git_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


class Repo:
    """A git work tree at `root`, on a branch named main."""

    def __init__(self, root: Path, *, init: bool = True) -> None:
        self.root = root
        if init:
            root.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **ISOLATED, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
        return done.stdout

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def commit(self, message: str, *, author: str, when: datetime) -> str:
        """Commit everything in the work tree as `author` at `when`; returns the full sha."""
        email = f"{author.lower()}@example.com"
        date = git_date(when)
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
        }
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, env=env)
        return self.git("rev-parse", "HEAD").strip()

    def shallow_clone(self, target: Path) -> Repo:
        """A clone holding only the newest commit, as CI checkouts are by default."""
        subprocess.run(
            ["git", "clone", "-q", "--depth", "1", f"file://{self.root}", str(target)],
            env={**os.environ, **ISOLATED},
            capture_output=True,
            check=True,
        )
        return Repo(target, init=False)
