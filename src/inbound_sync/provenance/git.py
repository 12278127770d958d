"""git as the provenance of config lines: `git blame` and `git rev-parse`, run as subprocesses.

The edge where provenance runs git (log.py runs `git log` for history through it too). Every
failure (no git, not a work tree, a file never committed, a timeout) becomes a note on the
record, never an exception: provenance must not fail a command. One `git blame` per config
file, whatever the number of changes in it, several files at once.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from inbound_sync.plan import Plan, RemoteRow
from inbound_sync.provenance.attach import attach, blamed_lines
from inbound_sync.provenance.blame import FileBlame, entry_spans, parse_porcelain
from inbound_sync.provenance.model import NO_GIT, Provenances

TIMEOUT_S = 30.0
"""Longest wait for one git process; past it, the provenance says so and the command goes on."""
PARALLEL = 4
MAX_RANGES = 5_000
"""Past this many entries in one file, blaming it whole costs less than listing them."""
NO_GIT_BINARY = "git is not installed"


class GitResult(NamedTuple):
    """What a git process printed, or (output None) why it gave nothing usable."""

    output: str | None
    problem: str = ""


class WorkTree(NamedTuple):
    top: Path
    shallow: bool


def git_env() -> dict[str, str]:
    # No lock on the index for reads that do not need one, no prompt, and git's own wording.
    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def run_git(args: Sequence[str], cwd: Path) -> GitResult:
    """`git ARGS` in `cwd`, its output as text; never raises."""
    found = run_git_bytes(args, cwd)
    if found.output is None:
        return GitResult(None, found.problem)
    return GitResult(found.output.decode("utf-8", errors="replace"))


class GitBytes(NamedTuple):
    output: bytes | None
    problem: str = ""


def run_git_bytes(args: Sequence[str], cwd: Path, *, stdin: bytes | None = None) -> GitBytes:
    """`git ARGS` in `cwd`, its output as bytes; never raises."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=git_env(),
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return GitBytes(None, NO_GIT_BINARY)
    except subprocess.TimeoutExpired:
        return GitBytes(None, f"git {args[0]} took longer than {TIMEOUT_S:.0f} s")
    except OSError as exc:
        return GitBytes(None, f"git could not run: {exc.strerror or exc}")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace")
        return GitBytes(None, _first_line(stderr) or f"git {args[0]} failed")
    return GitBytes(done.stdout)


def _first_line(stderr: str) -> str:
    line = next((s.strip() for s in stderr.splitlines() if s.strip()), "")
    return line.removeprefix("fatal: ").removeprefix("error: ")


def work_tree(directory: Path) -> WorkTree | str:
    """The work tree holding `directory` and whether its clone is shallow, or why there is none."""
    found = run_git(
        ["rev-parse", "--is-inside-work-tree", "--is-shallow-repository", "--show-toplevel"],
        directory,
    )
    if found.output is None and "not a git repository" not in found.problem:
        return found.problem  # no git, or one that did not answer: say which
    answers = (found.output or "").splitlines()
    if len(answers) < 3 or answers[0] != "true":
        return NO_GIT
    return WorkTree(Path(answers[2]), answers[1] == "true")


def blame(path: str, starts: Sequence[int], *, shallow: bool) -> FileBlame:
    """Who last changed the entries starting at `starts` in `path` (its work-tree text,
    uncommitted edits included), blaming those lines only (`-L`), unless there are so many
    that the whole file is quicker.

    Plain blame: a renamed file is followed, but not lines moved or copied (-M, -C), which would
    credit a changed `assistant: x` line to an older entry that has the same line. A number
    moved to another file therefore shows the commit that moved it (`history` goes further
    back). Without a shallow clone a 'boundary' commit is the root commit, nothing behind it.
    """
    file = Path(path)
    try:
        texts = tuple(_lines(file.read_bytes().decode("utf-8", errors="replace")))
    except OSError as exc:
        return FileBlame(note=f"cannot read {path}: {exc.strerror or exc}")
    spans = entry_spans(texts, starts)
    ranges = [f"-L{first},{last}" for first, last in spans] if len(spans) <= MAX_RANGES else []
    found = run_git(["blame", "--porcelain", *ranges, "--", file.name], file.parent)
    if found.output is None:
        return FileBlame(note=_why_not_blamed(found.problem))
    shas, commits = parse_porcelain(found.output)
    if not shallow:
        commits = {sha: c._replace(boundary=False) for sha, c in commits.items()}
    return FileBlame(texts, shas, commits)


def _lines(text: str) -> list[str]:
    """Lines as git counts them: split at \\n only, without a last empty one."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _why_not_blamed(problem: str) -> str:
    if "not a git repository" in problem:
        return NO_GIT
    if "no such path" in problem:
        return "not committed yet"
    return f"git blame failed: {problem}"


def blame_all(lines: Mapping[str, Sequence[int]], *, shallow: bool) -> dict[str, FileBlame]:
    """blame() of each file at its lines, a few files at once (each is its own process)."""
    todo = list(lines)
    if len(todo) <= 1:
        return {p: blame(p, lines[p], shallow=shallow) for p in todo}
    from concurrent.futures import ThreadPoolExecutor  # here: only a plan with changes needs it

    def one(path: str) -> FileBlame:
        return blame(path, lines[path], shallow=shallow)

    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(todo))) as pool:
        return dict(zip(todo, pool.map(one, todo), strict=True))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def collect(
    plan: Plan,
    rows: Iterable[RemoteRow],
    files: Sequence[str],
    now: datetime,
    *,
    outside_git: bool = True,
) -> Provenances:
    """The provenance of every change of `plan`: the account's rows, and git's blame of the
    config files that declare them, when the config is in a git work tree. With `outside_git`
    False, a config outside any work tree gets none at all (a plan shows none there)."""
    first = Path(files[0]).parent if files else Path()
    tree = work_tree(first)
    if isinstance(tree, str) and not outside_git:
        return Provenances(now, {}, in_git=False)
    lines = blamed_lines(plan)
    if isinstance(tree, str):
        blames = {p: FileBlame(note=tree) for p in lines}
    else:
        blames = blame_all(lines, shallow=tree.shallow)
    return attach(plan, rows, blames, now, in_git=not isinstance(tree, str))
