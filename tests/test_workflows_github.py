"""github_report.py: the sticky plan comment and the drift issue, against a fake GitHub API."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from workflow_support import GITHUB_TOKEN, SCRIPTS, fake_github, github_env, run_script, runner_env


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("github_report", SCRIPTS / "github_report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load()
PLAN = "<!-- inbound-sync plan -->"
DRIFT = "<!-- inbound-sync drift -->"


@pytest.fixture
def github():
    with fake_github() as fake:
        yield fake


@pytest.fixture
def env(github, tmp_path):
    workspace = tmp_path / "repo"
    workspace.mkdir()
    return github_env(github, runner_env(workspace))


@pytest.fixture
def body(tmp_path):
    path = tmp_path / "body.md"
    path.write_text("### inbound-sync plan\n\n**Plan: 1 to assign**\n", encoding="utf-8")
    return path


def comment(env, body: Path, *extra: str):
    return run_script(
        "github_report.py", env, "comment", "--pr", "7", "--body-file", str(body), *extra
    )


def drift_issue(env, body: Path, status: str, *extra: str):
    args = ["--status", status, "--body-file", str(body), *extra]
    return run_script("github_report.py", env, "drift-issue", *args)


# The decisions, as pure functions.


def test_marker_names_the_kind_and_the_instance():
    assert report.marker("plan") == PLAN
    assert report.marker("drift", "production") == "<!-- inbound-sync drift: production -->"


def test_sticky_comment_is_the_first_that_starts_with_the_marker():
    comments = [
        {"id": 1, "body": f"> {PLAN}\n> quoted by a reviewer"},
        {"id": 2, "body": "<!-- inbound-sync plan: staging -->\nanother instance"},
        {"id": 3, "body": f"{PLAN}\nours"},
        {"id": 4, "body": f"{PLAN}\na duplicate"},
        {"id": 5, "body": None},
    ]
    assert report.sticky_comment(comments, PLAN)["id"] == 3
    assert report.sticky_comment(comments[:2], PLAN) is None


def test_drift_updates_the_oldest_issue_of_ours_and_ignores_the_rest():
    issues = [
        {"number": 9, "body": f"{DRIFT}\nnewer"},
        {"number": 4, "body": f"{DRIFT}\nolder"},
        {"number": 2, "body": "labelled by hand, not ours"},
        {"number": 3, "body": f"{DRIFT}\na pull request", "pull_request": {}},
    ]
    assert report.issue_actions(issues, DRIFT, "drift") == [report.Action("update", 4)]
    assert report.issue_actions(issues[2:], DRIFT, "drift") == [report.Action("create", 0)]


def test_clean_closes_every_issue_of_ours_and_nothing_else():
    issues = [{"number": 9, "body": f"{DRIFT}\n"}, {"number": 2, "body": "by hand"}]
    assert report.issue_actions(issues, DRIFT, "clean") == [report.Action("close", 9)]
    assert report.issue_actions([], DRIFT, "clean") == []


def test_a_body_too_long_for_github_is_cut_at_a_line_with_a_note():
    long = "".join(f"| row {i} |\n" for i in range(10_000))
    cut = report.fit(long, limit=1_000)
    assert len(cut) < 1_100
    assert cut.endswith("the job summary has the whole report.\n")
    assert "| row 1 |\n" in cut
    assert report.fit("short\n") == "short\n"


def test_the_client_repr_hides_the_token():
    assert GITHUB_TOKEN not in repr(report.GitHub("https://api.github.com", "a/b", GITHUB_TOKEN))


# Over HTTP.


def test_plan_comment_is_added_once_then_edited(github, env, body):
    first = comment(env, body)
    assert first.code == 0, first.text
    body.write_text("### inbound-sync plan\n\n**Plan: 2 to assign**\n", encoding="utf-8")
    second = comment(env, body)
    assert second.code == 0, second.text
    [posted] = github.comments_on(7)
    assert first.out == f"Added the plan comment {posted['id']} to pull request #7.\n"
    assert second.out == f"Updated the plan comment {posted['id']} on pull request #7.\n"
    assert posted["body"].startswith(f"{PLAN}\n### inbound-sync plan\n\n**Plan: 2 to assign**\n")
    assert posted["body"].endswith("for commit `0123456`.</sub>\n")


def test_plan_comment_is_found_past_the_first_pages(github, env, body):
    for n in range(5):
        github.add_comment(7, f"review comment {n}")
    ours = github.add_comment(7, f"{PLAN}\nold plan", "Bot")
    assert comment(env, body).code == 0
    assert len(github.comments_on(7)) == 6
    assert "**Plan: 1 to assign**" in github.comments[ours]["body"]
    assert github.calls.count(("GET", "/repos/acme/routing/issues/7/comments")) == 3


def test_instances_keep_their_own_comments(github, env, body):
    assert comment(env, body, "--instance", "production").code == 0
    assert comment(env, body, "--instance", "staging").code == 0
    assert comment(env, body, "--instance", "staging").code == 0
    heads = sorted(c["body"].splitlines()[0] for c in github.comments_on(7))
    assert heads == [
        "<!-- inbound-sync plan: production -->",
        "<!-- inbound-sync plan: staging -->",
    ]


def test_drift_issue_is_opened_with_its_label_then_edited_then_closed(github, env, body):
    assert drift_issue(env, body, "clean").out == "No drift issue open; nothing to do.\n"
    assert drift_issue(env, body, "drift").out == "Opened drift issue #1.\n"
    assert github.labels == {"inbound-drift"}
    body.write_text("### inbound-sync drift\n\n**2 numbers drifted**\n", encoding="utf-8")
    assert drift_issue(env, body, "drift").out == "Updated drift issue #1.\n"
    [issue] = github.open_issues()
    assert issue["title"] == "inbound-sync: the account has drifted from git"
    assert issue["body"].startswith(f"{DRIFT}\n### inbound-sync drift\n\n**2 numbers drifted**")
    assert "re-run the apply workflow" in issue["body"]
    assert drift_issue(env, body, "clean").out == (
        "Closed drift issue #1: the account is in sync.\n"
    )
    assert github.issues[1]["state"] == "closed"
    assert drift_issue(env, body, "drift").out == "Opened drift issue #2.\n"
    assert github.calls.count(("POST", "/repos/acme/routing/labels")) == 1


def test_drift_issue_leaves_other_labelled_issues_and_pull_requests_alone(github, env, body):
    by_hand = github.add_issue("a person's note", ["inbound-drift"])
    pr = github.add_issue(f"{DRIFT}\n", ["inbound-drift"], pull_request=True)
    assert drift_issue(env, body, "drift", "--label", "inbound-drift").code == 0
    assert drift_issue(env, body, "clean").code == 0
    assert github.issues[by_hand]["state"] == "open"
    assert github.issues[pr]["state"] == "open"


def test_a_refused_token_fails_with_a_hint_and_never_shows_the_token(github, env, body):
    github.deny.add(("POST", "/issues/7/comments"))
    step = comment(env, body)
    assert step.code == 1
    assert step.out.startswith(
        "::error title=inbound-sync::GitHub API POST /repos/acme/routing/issues/7/comments "
        "answered 403: Resource not accessible by integration (does the job have "
        "`pull-requests: write`"
    )
    assert GITHUB_TOKEN not in step.text


def test_a_wrong_token_is_refused_by_the_api(env, body):
    step = comment({**env, "GITHUB_TOKEN": "ghs_wrong"}, body)
    assert step.code == 1
    assert "answered 401: Bad credentials" in step.out
    assert "ghs_wrong" not in step.text


def test_without_a_token_nothing_is_sent(github, env, body):
    step = comment({**env, "GITHUB_TOKEN": ""}, body)
    assert step.code == 1
    assert "GITHUB_TOKEN and GITHUB_REPOSITORY must be set" in step.out
    assert github.calls == []


def test_an_unreachable_api_is_an_error_not_a_traceback(env, body):
    step = comment({**env, "GITHUB_API_URL": "http://127.0.0.1:9"}, body)
    assert step.code == 1
    assert step.out.startswith("::error title=inbound-sync::GitHub API GET ")
    assert "Traceback" not in step.err


# The baseline the drift issue keeps, and the comment on new drift.


def drift_report(*entries: tuple[str, bool]) -> dict:
    return {
        "format_version": 1,
        "checked_at": "2026-03-16T06:23:00Z",
        "drift": [
            {
                "normalized": number,
                "number": f"+{number[:2]} {number[2:]}",
                "action": "update",
                "before": {"assistant_id": "a", "inbound_context_strategy_id": None},
                "after": {"assistant_id": "b", "inbound_context_strategy_id": None},
                "first_seen": "2026-03-15T06:23:00Z",
                "new": new,
                "reason": "changed out of band",
                "provenance": {"verdict": "account"},
            }
            for number, new in entries
        ],
    }


def test_the_baseline_keeps_only_what_drift_compares_and_reads_back():
    kept = report.baseline_in(
        f"body\n{report.baseline_trailer(drift_report(('918044319240', True)))}"
    )
    assert kept == {
        "format_version": 1,
        "checked_at": "2026-03-16T06:23:00Z",
        "drift": [
            {
                "normalized": "918044319240",
                "action": "update",
                "before": {"assistant_id": "a", "inbound_context_strategy_id": None},
                "after": {"assistant_id": "b", "inbound_context_strategy_id": None},
                "first_seen": "2026-03-15T06:23:00Z",
            }
        ],
    }


def test_a_baseline_too_large_for_an_issue_is_left_out(monkeypatch):
    monkeypatch.setattr(report, "BASELINE_LIMIT", 100)
    assert report.baseline_trailer(drift_report(("918044319240", True))) == ""


@pytest.mark.parametrize(
    "body",
    [
        "no baseline here",
        "<!-- inbound-sync baseline: bm90IHpsaWI= -->",  # base64, not zlib
        "<!-- inbound-sync baseline: eJwrSS0uAQAEXQHB -->",  # zlib, but not JSON
        "<!-- inbound-sync baseline: eJxTSlQoLinKzEtXAgARvANd -->",  # JSON, but not an object
    ],
)
def test_a_body_without_a_readable_baseline_gives_none(body):
    assert report.baseline_in(body) is None


def test_new_numbers_quote_only_digits_and_plus():
    entries = drift_report(("918044319240", True), ("918044319241", False))
    entries["drift"][0]["number"] = "+91 80 4431 9240\n::error::`x`"
    assert report.new_numbers(entries) == ["+91 80 4431 9240"]


def test_the_open_issue_keeps_the_report_and_comments_only_on_new_drift(
    github, env, body, tmp_path
):
    saved = tmp_path / "drift.json"
    saved.write_text(json.dumps(drift_report(("918044319240", True))), encoding="utf-8")
    opened = drift_issue(env, body, "drift", "--report-file", str(saved))
    assert opened.out == "Opened drift issue #1.\n"
    baseline = tmp_path / "out" / "baseline.json"
    read = run_script("github_report.py", env, "drift-baseline", "--out", str(baseline))
    assert read.out == f"Baseline: 1 drift(s) reported before, in {baseline}.\n"
    assert json.loads(baseline.read_text(encoding="utf-8"))["drift"][0]["normalized"] == (
        "918044319240"
    )
    # The same drift the next night: the issue is edited, and nobody is notified.
    saved.write_text(json.dumps(drift_report(("918044319240", False))), encoding="utf-8")
    assert drift_issue(env, body, "drift", "--report-file", str(saved)).out == (
        "Updated drift issue #1.\n"
    )
    assert github.comments_on(1) == []
    # A new one: a comment names it.
    both = drift_report(("918044319240", False), ("918044319241", True))
    saved.write_text(json.dumps(both), encoding="utf-8")
    assert drift_issue(env, body, "drift", "--report-file", str(saved)).out == (
        "Updated drift issue #1.\nCommented on drift issue #1: 1 new since the last check.\n"
    )
    [note] = github.comments_on(1)
    assert note["body"].startswith("**New drift since the last check** (1):\n\n- +91 8044319241\n")


def test_without_an_open_issue_there_is_no_baseline(github, env, tmp_path):
    out = tmp_path / "baseline.json"
    out.write_text("left by an earlier run", encoding="utf-8")
    github.add_issue("a person's note", ["inbound-drift"])
    read = run_script("github_report.py", env, "drift-baseline", "--out", str(out))
    assert (read.code, read.out) == (
        0,
        "No baseline: no open drift issue keeps one; every drift will be new.\n",
    )
    assert not out.exists()


def test_a_baseline_that_cannot_be_read_never_fails_the_job(github, env, tmp_path):
    github.deny.add(("GET", "/issues"))
    read = run_script("github_report.py", env, "drift-baseline", "--out", str(tmp_path / "b"))
    assert read.code == 0
    assert read.out.startswith("::warning title=inbound-sync::no baseline: GitHub API GET")
    assert GITHUB_TOKEN not in read.text


def test_an_issue_too_small_for_the_baseline_says_the_next_check_starts_over(
    github, env, body, monkeypatch
):
    # In-process, so that the limit can be lowered to what a report of 60 numbers exceeds.
    monkeypatch.setattr(report, "BASELINE_LIMIT", 100)
    many = drift_report(*((f"9180443192{i:02d}", True) for i in range(60)))
    api = report.GitHub(env["GITHUB_API_URL"], "acme/routing", GITHUB_TOKEN)
    text = body.read_text(encoding="utf-8")
    opened = report.report_drift(api, "drift", text, "inbound-drift", "", env, many)
    assert opened == ["Opened drift issue #1."]
    [issue] = github.open_issues()
    assert report.BASELINE_TOO_LARGE in issue["body"]
    assert report.baseline_in(issue["body"]) is None
