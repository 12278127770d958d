"""The pure parts of provenance: times, verdicts, blame output, config entries, the wording,
and the escaping of what git says (an author or a subject is data like any name)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inbound_sync.plan import Policy, make_plan
from inbound_sync.provenance import AccountSide, Commit, GitSide, Provenance, Provenances
from inbound_sync.provenance.blame import (
    UNCOMMITTED_SHA,
    FileBlame,
    entry_lines,
    entry_spans,
    git_side,
    parse_porcelain,
)
from inbound_sync.provenance.model import account_side, judge, parse_time
from inbound_sync.render import github, markdown, text
from inbound_sync.render.provenance import age
from planning import A1, A2, row, snapshot, state, want
from render_checks import check_github, check_markdown, check_text

UTC = timezone.utc
T = datetime(2026, 3, 18, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-18T11:30:00Z", T),
        ("2026-03-18T11:30:00", T),
        ("2026-03-18 17:00:00+05:30", T),
        ("2026-03-18T06:30:00-0500", T),
        ("2026-03-18T11:30:00.123456789Z", T.replace(microsecond=123456)),
        ("2026-03-18T11:30Z", T),
        ("2026-02-30T11:30:00Z", None),
        ("last tuesday", None),
        ("", None),
        (None, None),
    ],
)
def test_account_times_are_read_leniently(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("elapsed", "said"),
    [
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59, seconds=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1, hours=23), "1 day ago"),
        (timedelta(days=59), "59 days ago"),
        (timedelta(days=60), "2 months ago"),
        (timedelta(days=729), "24 months ago"),
        (timedelta(days=730), "2 years ago"),
        (timedelta(seconds=-30), "just now"),
        (timedelta(minutes=-5), "ahead of this machine's clock"),
    ],
)
def test_ages_read_in_their_largest_whole_unit(elapsed, said):
    assert age(T, T + elapsed) == said


def commit(subject: str = "route Bangalore to support (#42)", **kw) -> Commit:
    fields = {
        "sha": "1a2b3c4d" + "0" * 32,
        "author": "Priya",
        "authored": T - timedelta(days=5),
        "committed": T - timedelta(days=5),
        "subject": subject,
    }
    return Commit(**{**fields, **kw})


def test_the_pull_request_is_the_last_reference_in_the_subject():
    found = commit("revert (#12) and route to support (#42)")
    assert (found.pull_request, found.title) == (42, "revert (#12) and route to support")
    assert (commit("no reference").pull_request, commit("no reference").title) == (
        None,
        "no reference",
    )


@pytest.mark.parametrize(
    ("account", "git", "verdict"),
    [
        (T, GitSide(commit()), "account"),
        (T - timedelta(days=6), GitSide(commit()), "git"),
        (T - timedelta(days=5), GitSide(commit()), None),
        (None, GitSide(commit()), None),
        (T, GitSide(note="not in a git work tree"), None),
        (T, GitSide(commit(), uncommitted=True), None),
        (T, GitSide(commit(boundary=True)), "account"),
        (T - timedelta(days=6), GitSide(commit(boundary=True)), None),
    ],
)
def test_the_verdict_needs_both_times_and_a_known_commit(account, git, verdict):
    assert judge(AccountSide(updated_at=account), git) == verdict


def test_the_verdict_counts_the_commit_time_not_the_author_time():
    rebased = commit(committed=T + timedelta(hours=1))
    assert judge(AccountSide(updated_at=T), GitSide(rebased)) == "git"


def test_the_account_side_says_what_it_could_not_read():
    assert account_side(None).note == "not in the account"
    assert account_side(row("918044319240")).note == "the account lists no update time"
    odd = account_side(row("918044319240", updated_at="soon"))
    assert (odd.updated_at, odd.note) == (None, "the account's update time 'soon' is not a time")


PORCELAIN = "\n".join(
    [
        "a" * 40 + " 1 1 2",
        "author Priya",
        "author-mail <priya@example.com>",
        "author-time 1773401400",
        "author-tz +0000",
        "committer Priya",
        "committer-mail <priya@example.com>",
        "committer-time 1773401400",
        "committer-tz +0000",
        "summary declare (#41)",
        "boundary",
        "filename inbound.yaml",
        "\tnumbers:",
        "a" * 40 + " 2 2",
        '\t  - number: "+91 80 4431 9240"',
        UNCOMMITTED_SHA + " 3 3 1",
        "author Not Committed Yet",
        "author-time 1773833400",
        "committer-time 1773833400",
        "summary Version of inbound.yaml from inbound.yaml",
        "filename inbound.yaml",
        "\t    assistant: support",
        "",
    ]
)


def test_porcelain_gives_each_line_its_commit_once_described():
    shas, commits = parse_porcelain(PORCELAIN)
    assert shas == {1: "a" * 40, 2: "a" * 40, 3: UNCOMMITTED_SHA}
    first = commits["a" * 40]
    assert (first.author, first.subject, first.boundary) == ("Priya", "declare (#41)", True)
    assert first.committed == datetime(2026, 3, 13, 11, 30, tzinfo=UTC)


def test_an_uncommitted_line_in_the_entry_is_said_with_the_last_commit():
    texts = ("numbers:", '  - number: "+91 80 4431 9240"', "    assistant: support")
    side = git_side(FileBlame(texts, *parse_porcelain(PORCELAIN)), 2)
    assert side.uncommitted
    assert side.commit is not None
    assert side.commit.sha == "a" * 40
    assert side.note == "edited in the work tree since the last commit"


FILE = [
    "numbers:",  # 1
    '  - number: "+91 80 4431 9240"',  # 2
    "    assistant: support",  # 3
    "",  # 4
    "    # routed by the team lead",  # 5
    "    description: |",  # 6
    "      Bangalore",  # 7
    '  - number: "080 4431 9241"',  # 8
    "    assistant: sales",  # 9
    "  -",  # 10
    '    number: "080 4431 9242"',  # 11
    "    assistant: null",  # 12
    "# the end",  # 13
    "unmanaged: ignore",  # 14
]


@pytest.mark.parametrize(
    ("start", "lines"),
    [(2, range(2, 8)), (8, range(8, 10)), (11, range(11, 13)), (99, range(0))],
)
def test_an_entry_spans_the_lines_indented_under_it(start, lines):
    assert entry_lines(FILE, start) == lines


def test_entries_blamed_together_are_merged_into_few_ranges():
    assert entry_spans(FILE, [8, 2, 11, 11]) == [(2, 9), (11, 12)]


def test_the_newest_commit_of_the_entry_counts_not_its_first_line():
    old, new = commit(sha="b" * 40), commit(sha="c" * 40, committed=T)
    texts = ("numbers:", "  - number: x", "    assistant: sales", "  - number: y")
    shas = {1: old.sha, 2: old.sha, 3: new.sha, 4: old.sha}
    blame = FileBlame(texts, shas, {old.sha: old, new.sha: new})
    assert git_side(blame, 2).commit == new
    assert git_side(blame, 4).commit == old
    assert git_side(FileBlame(note="not committed yet"), 2) == GitSide(note="not committed yet")


EVIL = "Eve\n::error file=x.yaml,line=1::pwned\x1b]8;;http://e.invalid\x07</details><h1>x</h1>|"


def hostile_plan():
    desired = state(want("918044319240", A1))
    plan = make_plan(desired, snapshot(row("918044319240", A2)), Policy(desired.safety))
    found = Provenance(
        AccountSide(updated_at=T, note=None),
        GitSide(commit(subject=f"{EVIL} (#42)", author=EVIL)),
        "account",
    )
    return plan, Provenances(T + timedelta(days=1), {"918044319240": found}, True)


def test_what_git_says_is_escaped_in_every_format():
    plan, found = hostile_plan()
    for out in (
        text.format_drift(plan, provenance=found),
        text.format_plan(plan, provenance=found),
    ):
        check_text(out)
        assert "Eve\\n::error file=x.yaml,line=1::pwned\\x1b]8;;http://e.invalid\\x07" in out
    check_markdown(markdown.format_drift(plan, provenance=found), columns=4)
    check_markdown(markdown.format_plan(plan, provenance=found), columns=6)
    check_github(github.format_drift(plan, provenance=found), annotations=1)
    check_github(github.format_plan(plan, provenance=found), annotations=1)
