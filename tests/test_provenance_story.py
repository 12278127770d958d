"""Provenance end to end, as the on-call person meets it: a repository with commits by two
authors, a real apply against the sandbox over a socket, a change made in the account behind
git's back, and what drift (every format), plan and history then say.

The repository's dates and the sandbox's clock are set relative to the moment the test starts
(the apply itself runs on the real clock, as its audit log does); "now" for the ages is pinned.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import httpx
import jsonschema
import pytest

from git_support import Repo
from inbound_sync.sandbox import Sandbox, create_app
from reliability_support import ACME_KEY, run_main, seed_with_key, served
from sandbox_fixtures import CRM, SALES, SUPPORT, assign_body

pytestmark = pytest.mark.socket

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json"

CONFIG = f"""\
version: 1
assistants:
  support: {SUPPORT}
  sales: {SALES}
strategies:
  crm: {CRM}
unmanaged: detach
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
  - number: "080 4431 9241"
    assistant: sales
  - number: "080 4431 9242"
    assistant: sales
"""


class Clock:
    """The sandbox's clock: the real one, or a fixed moment while `fixed` is set."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(timezone.utc)


class Story(NamedTuple):
    repo: Repo
    start: datetime
    now: datetime
    first: str
    bob: str
    last: str
    sandbox: Sandbox
    applied_at: str
    """When apply assigned +91 80 4431 9242, as the account recorded it (never changed since)."""
    audit: Path


def at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


@pytest.fixture
def story(tmp_path, monkeypatch):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    repo = Repo(tmp_path / "repo")
    repo.write("inbound.yaml", CONFIG)
    first = repo.commit("route Bangalore (#41)", author="Priya", when=start - timedelta(days=9))
    repo.write(
        "inbound.yaml",
        CONFIG.replace('9241"\n    assistant: sales', '9241"\n    assistant: support'),
    )
    bob = repo.commit(
        "route Bangalore to support (#42)", author="Bob", when=start - timedelta(days=5)
    )
    clock = Clock()
    app = create_app(seed=seed_with_key(), clock=clock)
    with served(app) as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        monkeypatch.chdir(repo.root)
        audit = tmp_path / "audit.jsonl"
        applied = run_main("apply", "--auto-approve", "--log-file", str(audit))
        assert applied.code == 0, applied.err
        # An hour later someone adds a number in the console, and an hour after that moves
        # +91 80 4431 9241 back to the sales assistant, behind git's back.
        clock.fixed = start + timedelta(hours=1)
        headers = {"Authorization": f"Bearer {ACME_KEY}"}
        body = assign_body("+918044319243", SALES)
        assert httpx.post(f"{url}/inbound/assign", json=body, headers=headers).status_code == 200
        clock.fixed = start + timedelta(hours=2)
        rows = {m.phone_number_normalized: m for m in sandbox.all_mappings() if m.active}
        sandbox.change_mapping(rows["918044319241"].inbound_id, {"assistant_id": SALES})
        # Then Priya routes +91 80 4431 9242 to support in git, and it is not applied yet.
        repo.write(
            "inbound.yaml",
            repo.root.joinpath("inbound.yaml")
            .read_text()
            .replace('9242"\n    assistant: sales', '9242"\n    assistant: support'),
        )
        last = repo.commit(
            "route 9242 to support (#44)", author="Priya", when=start + timedelta(hours=3)
        )
        now = start + timedelta(days=1, hours=4)
        monkeypatch.setattr("inbound_sync.cli.plan.utc_now", lambda: now)
        applied_at = rows["918044319242"].updated_at
        yield Story(repo, start, now, first, bob, last, sandbox, applied_at, audit)


def expected_drift_text(s: Story) -> str:
    applied = datetime.strptime(s.applied_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return "\n".join(
        [
            "Drift: 3 numbers differ from git.",
            "  ! +91 80 4431 9243   not declared in git; account has assistant sales",
            f"      account  added {at(s.start + timedelta(hours=1))} (1 day ago)",
            "      git      not declared in git",
            "  ~ +91 80 4431 9241   changed out of band: account has assistant sales, git has "
            "assistant support  (inbound.yaml:11)",
            f"      account  changed {at(s.start + timedelta(hours=2))} (1 day ago)",
            f"      git      {s.bob[:7]} by Bob, {at(s.start - timedelta(days=5))} (6 days ago), "
            '#42 "route Bangalore to support"',
            "      => changed in the account after git last set it",
            "  ~ +91 80 4431 9242   changed out of band: account has assistant sales, git has "
            "assistant support  (inbound.yaml:13)",
            f"      account  changed {at(applied)} (1 day ago)",
            f"      git      {s.last[:7]} by Priya, {at(s.start + timedelta(hours=3))} (1 day ago), "
            '#44 "route 9242 to support"',
            "      => git changed after the account last changed (not applied yet?)",
            "",
        ]
    )


def test_drift_names_the_commit_the_author_and_the_time_of_each_side(story):
    run = run_main("drift")
    assert run.code == 2, run.err
    assert run.out == expected_drift_text(story)


def test_drift_markdown_has_a_column_with_both_sides_and_the_verdict(story):
    run = run_main("drift", "--format", "markdown")
    assert run.code == 2
    [row] = [line for line in run.out.splitlines() if "+91 80 4431 9241" in line]
    assert row.endswith(
        f"| `inbound.yaml:11` | account: changed {at(story.start + timedelta(hours=2))} "
        f"(1 day ago) · git: {story.bob[:7]} by Bob, {at(story.start - timedelta(days=5))} "
        '(6 days ago), #42 "route Bangalore to support" · '
        "**changed in the account after git last set it** |"
    )
    assert "| Number | What differs | Source | Last changed |" in run.out


def test_drift_annotations_carry_provenance_in_their_message(story):
    run = run_main("drift", "--format", "github")
    assert run.code == 2
    [line] = [x for x in run.out.splitlines() if "9242" in x]
    assert line == (
        "::warning file=inbound.yaml,line=13,title=inbound-sync drift::+91 80 4431 9242: "
        "changed out of band: account has assistant sales, git has assistant support — "
        f"account: changed {at(datetime.fromisoformat(story.applied_at.replace('Z', '+00:00')))} "
        f"(1 day ago); git: {story.last[:7]} by Priya, {at(story.start + timedelta(hours=3))} "
        '(1 day ago), #44 "route 9242 to support"; git changed after the account last changed '
        "(not applied yet?)"
    )


def test_drift_json_has_a_provenance_object_per_change(story):
    run = run_main("drift", "--format", "json")
    assert run.code == 2
    report = json.loads(run.out)
    assert report["checked_at"] == story.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    drift = {d["normalized"]: d["provenance"] for d in report["drift"]}
    assert drift["918044319241"] == {
        "account": {
            "updated_at": (story.start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_at": drift["918044319241"]["account"]["created_at"],
            "note": None,
        },
        "git": {
            "commit": {
                "sha": story.bob,
                "author": "Bob",
                "authored_at": (story.start - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "committed_at": (story.start - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "subject": "route Bangalore to support (#42)",
                "pull_request": 42,
                "shallow_boundary": False,
            },
            "uncommitted": False,
            "note": None,
        },
        "verdict": "account",
    }
    assert drift["918044319242"]["verdict"] == "git"
    assert drift["918044319242"]["git"]["commit"]["sha"] == story.last
    unmanaged = drift["918044319243"]
    assert unmanaged["account"]["created_at"] == (story.start + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert (unmanaged["git"], unmanaged["verdict"]) == (
        {"commit": None, "uncommitted": False, "note": "not declared in git"},
        None,
    )


def test_plan_in_a_git_work_tree_shows_provenance_and_its_saved_plan_still_applies(story):
    text = run_main("plan")
    assert text.code == 0
    assert f"      git      {story.last[:7]} by Priya" in text.out
    assert "      => git changed after the account last changed (not applied yet?)" in text.out
    document = json.loads(run_main("plan", "--format", "json").out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    verdicts = {c["normalized"]: c["provenance"]["verdict"] for c in document["changes"]}
    assert verdicts == {"918044319241": "account", "918044319242": "git", "918044319243": None}
    # The provenance is for reviewers: applying the saved plan does not find it stale.
    assert run_main("plan", "--out", "plan.json").code == 0
    applied = run_main("apply", "--plan", "plan.json")
    assert applied.code == 0, applied.err
    assert run_main("drift").code == 0


def test_history_tells_the_story_newest_first(story):
    run = run_main("history", "08044319241", "--log-file", str(story.audit))
    assert run.code == 0, run.err
    document = json.loads(
        run_main("history", "+918044319241", "--log-file", str(story.audit), "--format", "json").out
    )
    # The three assigns ran concurrently, so which line of the log holds this one varies.
    told = [
        (
            e["source"],
            e["summary"],
            [d.rsplit(":", 1)[0] + ":N" if "logged" in d else d for d in e["details"]],
        )
        for e in document["events"]
    ]
    assert told == [
        ("account", "last changed in the account: assistant Sales Assistant", []),
        ("account", "created in the account", []),
        (
            "apply",
            "apply assign: POST /inbound/assign → 200 (ok, attempt 1)",
            [f"logged at {story.audit}:N"],
        ),
        (
            "git",
            f"{story.bob[:7]} Bob: route Bangalore to support (#42)",
            ["inbound.yaml: assistant sales → support"],
        ),
        (
            "git",
            f"{story.first[:7]} Priya: route Bangalore (#41)",
            ["declared in inbound.yaml: assistant sales"],
        ),
    ]
    times = [e["time"] for e in document["events"]]
    assert times == sorted(times, reverse=True)
    assert document["declared"] == "inbound.yaml:11: assistant support"
    assert run.out.startswith("History of +91 80 4431 9241, newest first:\n\n")
    assert f"  {at(story.start - timedelta(days=5))}  git      {story.bob[:7]} Bob:" in run.out
    assert "                                 inbound.yaml: assistant sales → support\n" in run.out
    assert run.out.endswith(
        "Now:\n  git      inbound.yaml:11: assistant support\n"
        "  account  assistant Sales Assistant\n"
    )


def test_history_of_a_number_never_declared_and_not_in_the_account_exits_1(story):
    run = run_main("history", "+91 80 4431 9277")
    assert run.code == 1
    assert run.err == (
        "Error: +91 80 4431 9277 was never declared in git under inbound.yaml "
        "and is not in the account\n"
    )
    assert run.out == ""
