"""What the apply report and progress say about the API's rate limit and the run's deadline."""

from __future__ import annotations

import json

import pytest

from inbound_sync.apply import ApplyReport, Outcome
from inbound_sync.plan import Policy, Snapshot, make_plan
from inbound_sync.render import report as render_report
from planning import A1, state, want

DESIRED = state(want("918044319240", A1), want("918044319241", A1))
PLAN = make_plan(DESIRED, Snapshot(rows=()), Policy(DESIRED.safety))


def report(**fields: object) -> ApplyReport:
    outcomes = tuple(Outcome(c, "done", "done") for c in PLAN.changes)
    done = PLAN._replace(changes=())
    return ApplyReport(outcomes, done, Snapshot(rows=()))._replace(**fields)


LIMITED = {"rate_limited": 12, "paused_s": 3.0}
LINE = "Rate limit: 12 answers 429 from the API; every request paused 3 s in all."


def test_the_text_report_counts_the_429s_and_the_pause() -> None:
    out = render_report.format_text(report(**LIMITED))
    assert out.splitlines()[-2:] == [LINE, "Converged: the account matches the desired state."]


def test_markdown_and_github_say_it_too() -> None:
    assert f"\n{LINE}\n" in render_report.format_markdown(report(**LIMITED))
    assert LINE in render_report.format_github(report(**LIMITED)).splitlines()


def test_a_run_never_limited_says_nothing_of_it() -> None:
    plain = report()
    for render in (
        render_report.format_text,
        render_report.format_markdown,
        render_report.format_github,
    ):
        assert "Rate limit" not in render(plain)


def test_json_always_holds_the_counts() -> None:
    assert json.loads(render_report.format_json(report()))["rate_limit"] == {
        "answered_429": 0,
        "paused_s": 0.0,
    }
    document = json.loads(render_report.format_json(report(rate_limited=1, paused_s=1.23456)))
    assert document["rate_limit"] == {"answered_429": 1, "paused_s": 1.235}
    assert document["deadline_passed"] is False


def test_one_429_is_one_answer() -> None:
    assert render_report.rate_limit_line(report(rate_limited=1, paused_s=0.5)) == (
        "Rate limit: 1 answer 429 from the API; every request paused 0.5 s in all."
    )


def test_a_run_stopped_at_its_deadline_says_what_was_not_applied() -> None:
    skipped = tuple(o._replace(status="skipped") for o in report().outcomes)
    stopped = report(outcomes=skipped, expired=True)
    assert render_report.summary_line(stopped) == (
        "Stopped at the run's deadline: 0 done, 0 failed, 2 skipped (not applied)."
    )
    assert json.loads(render_report.format_json(stopped))["deadline_passed"] is True


@pytest.mark.parametrize(
    ("kind", "wait", "asked", "line"),
    [
        (
            "begin",
            30.0,
            True,
            "Paused: waiting for the API's rate limit (Retry-After 30 s); every request waits.",
        ),
        (
            "begin",
            0.75,
            False,
            "Paused: waiting for the API's rate limit (backing off 0.75 s); every request waits.",
        ),
        ("end", 31.5, False, "Resumed after a pause of 32 s for the API's rate limit."),
    ],
)
def test_the_progress_log_marks_where_a_pause_begins_and_ends(
    kind: str, wait: float, asked: bool, line: str
) -> None:
    assert render_report.pause_line(kind, wait, asked) == line


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "status"),
    [
        (0, 100, 5.0, ""),
        (50, 100, 5.0, "10/s, 0:05 left"),
        (10, 1000, 8.0, "1.25/s, 13:12 left"),
        (100, 100, 4.0, "25/s, 0:00 left"),
    ],
)
def test_the_progress_bar_shows_the_rate_and_the_time_left(
    done: int, total: int, elapsed: float, status: str
) -> None:
    assert render_report.progress_status(done, total, elapsed) == status
