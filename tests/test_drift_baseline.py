"""`drift --baseline`: drift already reported is marked so, with since when; a drift that goes
away and comes back is new again. `drift --out` saves the report that the next run reads."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from inbound_sync.sandbox import create_app
from reliability_support import ACME_KEY, run_main, seed_with_key, served
from sandbox_fixtures import SALES, SUPPORT

pytestmark = pytest.mark.socket

MONDAY = datetime(2026, 3, 16, 6, 23, tzinfo=timezone.utc)
CONFIG = f"""\
version: 1
assistants:
  support: {SUPPORT}
  sales: {SALES}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
  - number: "+91 80 4431 9241"
    assistant: support
"""


class Checks:
    """Nightly drift checks, each saving its report as the next one's baseline."""

    def __init__(self, monkeypatch, sandbox, root) -> None:
        self.monkeypatch, self.sandbox, self.root = monkeypatch, sandbox, root
        self.day = 0

    def run(self, *extra: str):
        now = MONDAY + timedelta(days=self.day)
        self.monkeypatch.setattr("inbound_sync.cli.plan.utc_now", lambda: now)
        self.day += 1
        return run_main("drift", "--baseline", "last.json", "--out", "last.json", *extra)

    def route(self, number: str, assistant: str) -> None:
        [row] = [m for m in self.sandbox.all_mappings() if m.phone_number_normalized == number]
        self.sandbox.change_mapping(row.inbound_id, {"assistant_id": assistant})


@pytest.fixture
def checks(tmp_path, monkeypatch):
    with served(create_app(seed=seed_with_key())) as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        monkeypatch.chdir(tmp_path)
        (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
        assert run_main("apply", "--auto-approve").code == 0
        # The first check has no baseline yet: it saves one.
        first = run_main("drift", "--out", "last.json")
        assert first.code == 0
        yield Checks(monkeypatch, sandbox, tmp_path)


def sightings(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.startswith("      ") and ("new since" in line or "reported before" in line)
    ]


def test_known_drift_is_marked_with_the_day_it_was_first_seen(checks):
    checks.route("918044319240", SALES)
    monday = checks.run()
    assert monday.code == 2
    assert (
        monday.out.splitlines()[0]
        == "Drift: 1 number differs from git; 1 new since the last check."
    )
    assert sightings(monday.out) == ["new since the last check"]
    checks.route("918044319241", SALES)
    tuesday = checks.run()
    assert tuesday.out.splitlines()[0] == (
        "Drift: 2 numbers differ from git; 1 new since the last check."
    )
    assert sightings(tuesday.out) == [
        "reported before, first seen 2026-03-16 06:23 UTC (1 day ago)",
        "new since the last check",
    ]
    wednesday = checks.run("--format", "json")
    report = {
        d["normalized"]: (d["new"], d["first_seen"]) for d in json.loads(wednesday.out)["drift"]
    }
    assert report == {
        "918044319240": (False, "2026-03-16T06:23:00Z"),
        "918044319241": (False, "2026-03-17T06:23:00Z"),
    }


def test_a_drift_that_goes_away_and_comes_back_is_new_again(checks):
    checks.route("918044319240", SALES)
    assert sightings(checks.run().out) == ["new since the last check"]
    checks.route("918044319240", SUPPORT)
    clean = checks.run()
    assert clean.code == 0
    assert clean.out.startswith("In sync")
    checks.route("918044319240", SALES)
    assert sightings(checks.run().out) == ["new since the last check"]


def test_a_drift_that_changes_is_new(checks):
    checks.route("918044319240", SALES)
    checks.run()
    checks.route("918044319240", None)
    assert sightings(checks.run().out) == ["new since the last check"]


def test_markdown_and_annotations_say_what_is_new(checks):
    checks.route("918044319240", SALES)
    checks.run()
    markdown = checks.run("--format", "markdown")
    assert "**Drift: 1 number differs from git; 0 new since the last check.**" in markdown.out
    assert "| Number | What differs | Source | Last changed | Reported |" in markdown.out
    assert "| reported before, first seen 2026-03-16 06:23 UTC (1 day ago) |" in markdown.out
    github = checks.run("--format", "github")
    assert "[reported before, first seen 2026-03-16 06:23 UTC (2 days ago)]" in github.out


def test_a_missing_baseline_is_an_error_before_any_request(checks):
    run = run_main("drift", "--baseline", "nowhere.json")
    assert (run.code, run.out) == (1, "")
    assert run.err == "Error: cannot read the baseline nowhere.json: No such file or directory\n"


def test_a_baseline_that_is_not_a_drift_report_is_an_error(checks):
    (checks.root / "plan.json").write_text('{"format_version": 1, "changes": []}', encoding="utf-8")
    run = run_main("drift", "--baseline", "plan.json")
    assert run.code == 1
    assert run.err == (
        "Error: plan.json is not a drift report written by `inbound-sync drift --format json` "
        "(drift: Field required)\n"
    )


def test_out_dash_puts_the_report_on_stdout_and_the_review_on_stderr(checks):
    checks.route("918044319240", SALES)
    run = run_main("drift", "--out", "-")
    assert run.code == 2
    assert json.loads(run.out)["drift"][0]["normalized"] == "918044319240"
    assert run.err.startswith("Drift: 1 number differs from git.")
