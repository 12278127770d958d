"""Provenance where git has less to say: a shallow clone, a detached HEAD, a renamed config
file, a number moved between files, edits not committed, a file never committed, no work
tree, no git at all, and an account whose timestamps are missing or not times.

Each builds a real repository (Priya declares two numbers; Bob routes the second to support)
and a sandbox over a socket whose account has that number on sales since `account_time`.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from git_support import Repo
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import ACME_KEY, Answer, Scripted, run_main, seed_with_key
from sandbox_fixtures import CRM, SALES, SUPPORT, FakeClock, controller

pytestmark = pytest.mark.socket

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
PRIYA_AT = NOW - timedelta(days=9)
BOB_AT = NOW - timedelta(days=5)

HEAD = f"""\
version: 1
assistants:
  support: {SUPPORT}
  sales: {SALES}
strategies:
  crm: {CRM}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
"""
ENTRY = '  - number: "080 4431 9241"\n    assistant: {}\n'


class World(NamedTuple):
    repo: Repo
    priya: str
    bob: str
    tmp: Path


def serve(monkeypatch, account_time: datetime, app_wrapper=None):
    seed = seed_with_key()
    seed["tenants"]["acme"]["mappings"] = [
        {"phone_number": "+918044319240", "assistant_id": SUPPORT},
        {"phone_number": "+918044319241", "assistant_id": SALES},
    ]
    app = create_app(seed=seed, clock=FakeClock(account_time))
    return app


@pytest.fixture
def world(tmp_path, monkeypatch, request):
    account_time = getattr(request, "param", NOW - timedelta(days=1))
    repo = Repo(tmp_path / "repo")
    repo.write("inbound.yaml", HEAD + ENTRY.format("sales"))
    priya = repo.commit("declare Bangalore (#41)", author="Priya", when=PRIYA_AT)
    repo.write("inbound.yaml", HEAD + ENTRY.format("support"))
    bob = repo.commit("route Bangalore to support (#42)", author="Bob", when=BOB_AT)
    app = serve(monkeypatch, account_time)
    with running_server(app) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        monkeypatch.setattr("inbound_sync.cli.plan.utc_now", lambda: NOW)
        # git looks for a repository no higher than the test's directory.
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
        monkeypatch.chdir(repo.root)
        yield World(repo, priya, bob, tmp_path)
    controller(app).close()


def provenance(*paths: str) -> dict:
    """The provenance of +91 80 4431 9241 in `drift --format json`."""
    run = run_main("drift", *paths, "--format", "json")
    assert run.code == 2, run.err
    [found] = [
        d["provenance"] for d in json.loads(run.out)["drift"] if d["number"].endswith("9241")
    ]
    return found


def drift_line(prefix: str, *paths: str) -> str:
    run = run_main("drift", *paths)
    assert run.code == 2, run.err
    [line] = [x for x in run.out.splitlines() if x.startswith(prefix)]
    return line


def test_the_full_history_names_the_commit_that_set_the_value(world):
    found = provenance()
    assert (found["git"]["commit"]["sha"], found["verdict"]) == (world.bob, "account")
    assert found["git"]["commit"]["shallow_boundary"] is False


@pytest.mark.parametrize("world", [NOW - timedelta(days=10)], indirect=True)
def test_the_first_commit_of_a_full_history_is_no_shallow_edge(world, monkeypatch):
    """git marks a root commit as a blame 'boundary' too; only a shallow clone's is uncertain."""
    repo = Repo(world.tmp / "one-commit")
    repo.write("inbound.yaml", HEAD + ENTRY.format("support"))
    root = repo.commit("declare Bangalore", author="Priya", when=PRIYA_AT)
    monkeypatch.chdir(repo.root)
    found = provenance()
    assert (found["git"]["commit"]["sha"], found["verdict"]) == (root, "git")
    assert found["git"]["commit"]["shallow_boundary"] is False


def test_a_file_blamed_whole_gives_the_same_answer_as_its_lines(world, monkeypatch):
    """Past MAX_RANGES entries in one file, git blames the whole file instead of -L ranges."""
    by_lines = provenance()
    monkeypatch.setattr("inbound_sync.provenance.git.MAX_RANGES", 0)
    assert provenance() == by_lines


def test_a_shallow_clone_shows_its_edge_commit_as_an_upper_bound(world, monkeypatch):
    clone = world.repo.shallow_clone(world.tmp / "clone")
    monkeypatch.chdir(clone.root)
    found = provenance()
    # The clone holds only Bob's commit: every line is his "or older".
    assert found["git"]["commit"]["sha"] == world.bob
    assert found["git"]["commit"]["shallow_boundary"] is True
    # The account changed after the newest commit, so after whichever set the line.
    assert found["verdict"] == "account"
    assert drift_line("      git ") == (
        f"      git      at or before {world.bob[:7]} by Bob, 2026-03-15 12:00 UTC (5 days ago), "
        '#42 "route Bangalore to support" (a shallow clone: fetch its full history to know)'
    )


@pytest.mark.parametrize("world", [NOW - timedelta(days=7)], indirect=True)
def test_a_shallow_clone_cannot_tell_that_git_changed_last(world, monkeypatch):
    assert provenance()["verdict"] == "git"
    monkeypatch.chdir(world.repo.shallow_clone(world.tmp / "clone").root)
    found = provenance()
    assert (found["git"]["commit"]["shallow_boundary"], found["verdict"]) == (True, None)


def test_a_detached_head_is_blamed_as_any_checkout(world):
    world.repo.git("checkout", "-q", "--detach", "HEAD")
    found = provenance()
    assert (found["git"]["commit"]["sha"], found["verdict"]) == (world.bob, "account")


def test_a_renamed_config_file_keeps_the_commit_that_set_the_value(world):
    world.repo.git("mv", "inbound.yaml", "routing.yaml")
    carol = world.repo.commit("rename the config", author="Carol", when=NOW - timedelta(days=3))
    found = provenance("routing.yaml")
    assert found["git"]["commit"]["sha"] == world.bob
    history = json.loads(
        run_main("history", "+918044319241", "routing.yaml", "--format", "json").out
    )
    git = [(e["summary"], e["details"]) for e in history["events"] if e["source"] == "git"]
    assert git == [
        (f"{carol[:7]} Carol: rename the config", ["moved from inbound.yaml to routing.yaml"]),
        (
            f"{world.bob[:7]} Bob: route Bangalore to support (#42)",
            ["inbound.yaml: assistant sales → support"],
        ),
        (
            f"{world.priya[:7]} Priya: declare Bangalore (#41)",
            ["declared in inbound.yaml: assistant sales"],
        ),
    ]


def test_a_number_moved_to_another_file_shows_the_move_and_history_goes_back(world):
    world.repo.write("inbound.yaml", HEAD)
    world.repo.write("teams/blr.yaml", "version: 1\nnumbers:\n" + ENTRY.format("support"))
    carol = world.repo.commit("one file per team", author="Carol", when=NOW - timedelta(days=3))
    found = provenance(".")
    # Blame sees the lines of teams/blr.yaml, which the move wrote.
    assert (found["git"]["commit"]["sha"], found["verdict"]) == (carol, "account")
    assert drift_line("  ~ ", ".").endswith("(teams/blr.yaml:3)")
    history = json.loads(run_main("history", "+918044319241", ".", "--format", "json").out)
    git = [(e["summary"], e["details"]) for e in history["events"] if e["source"] == "git"]
    assert git == [
        (f"{carol[:7]} Carol: one file per team", ["moved from inbound.yaml to teams/blr.yaml"]),
        (
            f"{world.bob[:7]} Bob: route Bangalore to support (#42)",
            ["inbound.yaml: assistant sales → support"],
        ),
        (
            f"{world.priya[:7]} Priya: declare Bangalore (#41)",
            ["declared in inbound.yaml: assistant sales"],
        ),
    ]
    assert history["declared"] == "teams/blr.yaml:3: assistant support"


def test_a_changed_line_equal_to_another_entrys_is_credited_to_the_change(world, monkeypatch):
    """`assistant: <long alias>` also stands in an older entry; the change still wrote it."""
    long_head = HEAD.replace("support:", "support-assistant-bangalore:").replace(
        "assistant: support", "assistant: support-assistant-bangalore"
    )
    repo = Repo(world.tmp / "long")
    repo.write("inbound.yaml", long_head + ENTRY.format("sales"))
    repo.commit("declare", author="Priya", when=PRIYA_AT)
    repo.write("inbound.yaml", long_head + ENTRY.format("support-assistant-bangalore"))
    bob = repo.commit("route to support", author="Bob", when=BOB_AT)
    monkeypatch.chdir(repo.root)
    assert provenance()["git"]["commit"]["sha"] == bob


def test_edits_not_committed_are_said_and_judge_nothing(world):
    world.repo.write("inbound.yaml", HEAD + ENTRY.format("support") + "    strategy: crm\n")
    found = provenance()
    assert found["git"] == {
        "commit": found["git"]["commit"],
        "uncommitted": True,
        "note": "edited in the work tree since the last commit",
    }
    assert found["git"]["commit"]["sha"] == world.bob
    assert found["verdict"] is None
    assert drift_line("      git ").startswith(
        f"      git      edited in the work tree since the last commit; last committed: "
        f"{world.bob[:7]} by Bob"
    )


def test_a_file_never_committed_says_so(world):
    world.repo.write(
        "new.yaml", 'version: 1\nnumbers:\n  - number: "080 4431 9245"\n    assistant: support\n'
    )
    run = run_main("drift", "inbound.yaml", "new.yaml", "--format", "json")
    assert run.code == 2
    [added] = [d for d in json.loads(run.out)["drift"] if d["action"] == "assign"]
    assert added["provenance"]["git"] == {
        "commit": None,
        "uncommitted": False,
        "note": "not committed yet",
    }
    assert added["provenance"]["account"]["note"] == "not in the account"


def test_outside_a_work_tree_drift_says_so_and_plan_reads_as_before(world, monkeypatch):
    plain = world.tmp / "plain"
    plain.mkdir()
    (plain / "inbound.yaml").write_text(HEAD + ENTRY.format("support"), encoding="utf-8")
    monkeypatch.chdir(plain)
    run = run_main("drift")
    assert run.code == 2
    assert run.out.splitlines()[1:] == [
        "  ~ +91 80 4431 9241   changed out of band: account has assistant sales, git has "
        "assistant support  (inbound.yaml:10)",
        "      account  changed 2026-03-19 12:00 UTC (1 day ago)",
        "      git      not in a git work tree",
    ]
    plan = run_main("plan")
    assert plan.out == (
        "  ~ update  +91 80 4431 9241   assistant sales → support  (inbound.yaml:10)\n\n"
        "Plan: 0 to assign, 1 to update, 0 to detach, 0 to delete; 1 unchanged, 0 unmanaged.\n"
    )
    document = json.loads(run_main("plan", "--format", "json").out)
    assert all("provenance" not in change for change in document["changes"])


def test_without_git_installed_provenance_says_so(world, monkeypatch):
    monkeypatch.setenv("PATH", str(world.tmp / "no-programs-here"))
    found = provenance()
    assert found["git"] == {"commit": None, "uncommitted": False, "note": "git is not installed"}
    assert found["account"]["updated_at"] == "2026-03-19T12:00:00Z"


def test_a_git_that_does_not_answer_is_given_up_and_said(world, monkeypatch):
    programs = world.tmp / "slow-git"
    programs.mkdir()
    sleep = shutil.which("sleep")
    (programs / "git").write_text(f"#!/bin/sh\nexec {sleep} 10\n", encoding="utf-8")
    (programs / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(programs))
    monkeypatch.setattr("inbound_sync.provenance.git.TIMEOUT_S", 1.0)
    found = provenance()
    assert found["git"]["note"] == "git rev-parse took longer than 1 s"
    assert found["account"]["updated_at"] == "2026-03-19T12:00:00Z"


LISTED = {
    "success": True,
    "message": "ok",
    "data": [
        {
            "inbound_id": "11111111-1111-4111-8111-111111111111",
            "phone_number_normalized": "918044319240",
            "phone_number": "+918044319240",
            "assistant_id": SALES,
            "updated_at": "last tuesday",
        },
        {
            "inbound_id": "22222222-2222-4222-8222-222222222222",
            "phone_number_normalized": "918044319241",
            "phone_number": "+918044319241",
            "assistant_id": SALES,
        },
    ],
}


def test_times_missing_or_malformed_are_said_and_judge_nothing(world, monkeypatch):
    app = create_app(seed=seed_with_key())
    scripted = Scripted(app)
    scripted.script(Answer("GET /inbound/list", 200, json.dumps(LISTED), count=10))
    with running_server(scripted) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        run = run_main("drift", "--format", "json")
    controller(app).close()
    assert run.code == 2, run.err
    found = {d["normalized"]: d["provenance"] for d in json.loads(run.out)["drift"]}
    assert found["918044319240"]["account"] == {
        "updated_at": None,
        "created_at": None,
        "note": "the account's update time 'last tuesday' is not a time",
    }
    assert found["918044319241"]["account"]["note"] == "the account lists no update time"
    assert {p["verdict"] for p in found.values()} == {None}
    assert {p["git"]["commit"]["sha"] for p in found.values()} == {world.priya, world.bob}


def test_history_outside_a_work_tree_tells_the_accounts_side_and_says_why_no_more(
    world, monkeypatch
):
    plain = world.tmp / "plain"
    plain.mkdir()
    (plain / "inbound.yaml").write_text(HEAD + ENTRY.format("support"), encoding="utf-8")
    monkeypatch.chdir(plain)
    document = json.loads(run_main("history", "+918044319241", "--format", "json").out)
    assert [(e["source"], e["summary"]) for e in document["events"]] == [
        ("account", "created in the account: assistant Sales Assistant")
    ]
    assert document["notes"] == ["no git history: not in a git work tree"]
    assert document["declared"] == "inbound.yaml:10: assistant support"
    text = run_main("history", "080 4431 9241")
    assert text.out.endswith("\n\nNotes:\n  - no git history: not in a git work tree\n")
