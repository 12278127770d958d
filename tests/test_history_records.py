"""The pure parts of `history`: git's raw log, which files are followed, what a commit did to a
number's entry, the audit logs, and the order of the story."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from inbound_sync.errors import UsageError
from inbound_sync.provenance.audit import apply_events, read_audit
from inbound_sync.provenance.history import (
    UNREADABLE,
    Event,
    digits_pattern,
    effect,
    find_entry,
    parse_log,
    relevant,
    story,
)
from inbound_sync.provenance.log import parse_batch

T = datetime(2026, 3, 18, 11, 30, tzinfo=timezone.utc)
A, B, C = "a" * 40, "b" * 40, "c" * 40


def record(sha: str, subject: str, *changes: str) -> str:
    return f"\x1e{sha}\x1fPriya\x1f1773833400\x1f1773833400\x1f{subject}\x00\n" + "".join(changes)


def raw(status: str, old: str, new: str, *paths: str) -> str:
    return f":100644 100644 {old} {new} {status}\x00" + "".join(p + "\x00" for p in paths)


LOG = (
    record(C, "rename", raw("R100", A, A, "inbound.yaml", "routing/main.yaml"))
    + record(B, "route (#42)", raw("M", B, A, "inbound.yaml"), raw("M", B, A, "other/x.yaml"))
    + record(A, "declare", raw("A", "0" * 40, B, "inbound.yaml"))
)


def test_the_raw_log_gives_each_commit_its_files_with_renames():
    commits = parse_log(LOG)
    assert [c.commit.subject for c in commits] == ["rename", "route (#42)", "declare"]
    renamed = commits[0].changes[0]
    assert (renamed.status, renamed.old_path, renamed.new_path) == (
        "R",
        "inbound.yaml",
        "routing/main.yaml",
    )
    added = commits[2].changes[0]
    assert (added.old_path, added.old_blob, added.new_blob) == (None, None, B)
    assert commits[1].commit.pull_request == 42


def test_a_renamed_file_is_followed_back_and_other_configs_are_not():
    kept = relevant(parse_log(LOG), ["routing"])
    assert [[c.new_path for c in k.changes] for k in kept] == [
        ["routing/main.yaml"],
        ["inbound.yaml"],
        ["inbound.yaml"],
    ]
    assert [k.commit.subject for k in relevant(parse_log(LOG), ["other"])] == ["route (#42)"]


CONFIG = """\
version: 1
defaults:
  region: US
numbers:
  - number: "(415) 555-0132"
    assistant: support
  - number: "+91 80 4431 9240"
    assistant: sales
    strategy: crm
"""


def test_an_entry_is_found_whatever_the_spelling_and_with_the_files_region():
    pattern = digits_pattern("14155550132")
    assert find_entry(CONFIG, "14155550132", "IN", pattern) == {
        "number": "(415) 555-0132",
        "assistant": "support",
    }
    india = find_entry(CONFIG, "918044319240", "IN", digits_pattern("918044319240"))
    assert india is not None
    assert india["strategy"] == "crm"
    assert find_entry(CONFIG, "918044319241", "IN", digits_pattern("918044319241")) is None


def test_a_version_that_is_not_yaml_is_unreadable_not_empty():
    broken = 'numbers:\n  - number: "+91 80 4431 9240"\n    assistant: [\n'
    assert find_entry(broken, "918044319240", "IN", digits_pattern("918044319240")) is UNREADABLE


ENTRY = {"number": "+91 80 4431 9240", "assistant": "support"}


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ({}, {"a.yaml": ENTRY}, ["declared in a.yaml: assistant support"]),
        ({"a.yaml": ENTRY}, {}, ["removed from a.yaml"]),
        (
            {"a.yaml": ENTRY},
            {"a.yaml": {**ENTRY, "assistant": "sales", "protect": True}},
            ["a.yaml: assistant support → sales, protect null → true"],
        ),
        ({"a.yaml": ENTRY}, {"b.yaml": ENTRY}, ["moved from a.yaml to b.yaml"]),
        (
            {"a.yaml": ENTRY},
            {"b.yaml": {**ENTRY, "assistant": None}},
            ["moved from a.yaml to b.yaml: assistant support → null"],
        ),
        ({"a.yaml": ENTRY}, {"a.yaml": ENTRY}, []),
        (
            {},
            {"a.yaml": {"number": "x", "ensure": "absent"}},
            ["declared in a.yaml: ensure: absent (released)"],
        ),
    ],
)
def test_a_commit_is_worded_by_what_it_did_to_the_entry(before, after, said):
    lines, data = effect(before, after)
    assert lines == said
    assert len(data) == len(said)


def test_cat_file_batch_output_is_split_by_size():
    body = b"numbers:\n  - x\n"
    output = f"{A} blob {len(body)}\n".encode() + body + b"\n" + f"{B} missing\n".encode()
    assert parse_batch(output) == {A: "numbers:\n  - x\n"}


def event(minutes: int, source, summary: str) -> Event:
    return Event(T + timedelta(minutes=minutes), source, summary)


def test_the_story_is_newest_first_and_the_account_leads_at_the_same_second():
    git = [event(0, "git", "declared"), event(10, "git", "changed")]
    apply = [event(20, "apply", "assign try 1"), event(20, "apply", "assign try 2")]
    account = [Event(T + timedelta(minutes=20, seconds=0.5), "account", "created")]
    now = [Event(None, "account", "in the account now")]
    told = [e.summary for e in story(git, apply, account, now)]
    assert told == [
        "in the account now",
        "created",
        "assign try 2",
        "assign try 1",
        "changed",
        "declared",
    ]


def line(number: str, action: str = "assign", **kw) -> str:
    entry = {
        "time": "2026-03-18T11:30:00.123Z",
        "action": action,
        "number": number,
        "inbound_id": None,
        "method": "POST",
        "path": "/inbound/assign",
        "status": 200,
        "attempt": 1,
        "duration": 0.01,
        "outcome": "ok",
        "error": None,
        **kw,
    }
    return json.dumps(entry)


def test_audit_logs_are_read_from_files_and_directories(tmp_path):
    runs = tmp_path / "artifacts" / "run-1"
    runs.mkdir(parents=True)
    (runs / "audit.jsonl").write_text(
        "\n".join(
            [
                line(None, "list", method="GET", path="/inbound/list"),
                line("+918044319240", status=None, outcome="unknown", error="read timed out"),
                "{cut short",
                line("+918044319241"),
                line("+918044319240", attempt=2),
            ]
        ),
        encoding="utf-8",
    )
    (runs / ".hidden.jsonl").write_text(line("+918044319240"), encoding="utf-8")
    read = read_audit([str(tmp_path / "artifacts")])
    assert read.notes == (f"{runs / 'audit.jsonl'}: 1 line skipped (not an audit entry)",)
    events = apply_events(read, "918044319240")
    assert [e.summary for e in events] == [
        "apply assign: POST /inbound/assign → no answer (unknown, attempt 1)",
        "apply assign: POST /inbound/assign → 200 (ok, attempt 2)",
    ]
    assert events[0].details == ("error: read timed out", f"logged at {runs / 'audit.jsonl'}:2")
    assert events[0].time == T.replace(microsecond=123000)


def test_an_audit_log_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(
        UsageError, match=r"cannot read the audit log .*nowhere\.jsonl: no such file"
    ):
        read_audit([str(tmp_path / "nowhere.jsonl")])
