"""Wording a first-time user tripped over: the override a refusal needs, what an undo leaves
alone, progress lines that do not repeat themselves, and aligned unmanaged numbers."""

from __future__ import annotations

from inbound_sync.apply import Outcome
from inbound_sync.plan import Policy, make_plan
from inbound_sync.render import markdown, report, text
from planning import A1, A2, row, snapshot, state, want

N = [f"9180443192{i:02d}" for i in range(40, 46)]


def refusal(desired, snap):
    plan = make_plan(desired, snap, Policy(desired.safety))
    assert plan.refused
    return text.format_refusals(plan).splitlines()[-1]


def test_a_threshold_refusal_suggests_only_the_threshold_overrides():
    desired = state(*(want(n, ensure="absent") for n in N[:3]), max_destructive=1)
    hint = refusal(desired, snapshot(*(row(n) for n in N[:3])))
    assert hint == (
        "Nothing was written. Review the plan; to exceed the thresholds, pass "
        "--allow-destructive, or raise safety.max_destructive / safety.max_destructive_percent "
        "in a reviewed commit."
    )
    assert "protect" not in hint


def test_a_protect_refusal_suggests_only_removing_protect():
    desired = state(want(N[0], None, protect=True))
    hint = refusal(desired, snapshot(row(N[0])))
    assert hint == (
        "Nothing was written. Review the plan; to change a protected number, remove its "
        "`protect: true` in a reviewed commit (--allow-destructive does not override it)."
    )


def test_both_refusals_suggest_both_overrides():
    desired = state(want(N[0], None, protect=True), want(N[1], None), max_destructive=1)
    hint = refusal(desired, snapshot(row(N[0]), row(N[1])))
    assert "to exceed the thresholds" in hint
    assert "to change a protected number" in hint


def test_an_undo_plan_words_its_untouched_numbers_as_outside_the_undo():
    desired = state(want(N[0], A2))._replace(purpose="undo")
    plan = make_plan(desired, snapshot(row(N[0]), row(N[1])), Policy())
    out = text.format_plan(plan)
    assert "Not part of the undo (this apply did not change them; left as they are):" in out
    assert "Unmanaged" not in out
    assert "Numbers not part of the undo (1), left as they are" in markdown.format_plan(plan)


def test_an_ordinary_plan_keeps_the_unmanaged_wording():
    plan = make_plan(state(want(N[0], A2)), snapshot(row(N[0]), row(N[1])), Policy())
    assert "Unmanaged (in the account, not in git; left alone):" in text.format_plan(plan)


def test_unmanaged_numbers_of_different_lengths_line_up():
    plan = make_plan(state(), snapshot(row(N[0], A1), row("14155550132", A2)), Policy())
    lines = text.format_plan(plan).splitlines()
    rows = lines[lines.index("Unmanaged (in the account, not in git; left alone):") + 1 :]
    assert len({line.index("assistant") for line in rows}) == 1, rows


def test_a_plain_success_is_not_repeated_in_its_progress_line():
    plan = make_plan(state(want(N[0], A2)), snapshot(row(N[0])), Policy())
    [change] = plan.changes
    assert report.progress_line(Outcome(change, "done", "done"), 1, 3) == (
        "[1/3] done    update +91 80 4431 9240"
    )
    assert report.progress_line(Outcome(change, "failed", "Assistant not found"), 2, 3) == (
        "[2/3] failed  update +91 80 4431 9240: Assistant not found"
    )


def test_an_error_quoting_a_control_character_shows_it_visibly(tmp_path):
    from reliability_support import run_main

    path = tmp_path / "inbound.yaml"
    path.write_text('version: 1\nnumbers:\n  - number: "+918044319240"\n    "\\e[2Jx": 1\n')
    result = run_main("validate", str(path))
    assert result.code == 1
    assert "\x1b" not in result.err
    assert "numbers[0].\\x1b[2Jx: unknown key" in result.err
    assert len(result.err.splitlines()) == 2  # the header and the issue, one line each


def test_api_url_help_shows_the_default(run_cli):
    from inbound_sync.vendor import PRODUCTION_URL

    result = run_cli("plan", "--help")
    assert f"$INBOUND_SYNC_API_URL,else{PRODUCTION_URL})." in "".join(result.out.split())
