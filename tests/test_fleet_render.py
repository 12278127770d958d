"""Fleet output: sections per target, moves on one line, collapsed sections, escaped data."""

from __future__ import annotations

from fleet_support import fleet_target
from inbound_sync.fleet import Move, TargetFailure, TargetInput, make_fleet_plan
from inbound_sync.plan import Policy
from inbound_sync.render import fleet as render
from planning import row, snapshot, state, want

N1, N2 = "918044319241", "918044319242"


def sample():
    items = [
        TargetInput(fleet_target("a"), state(), snapshot(row(N1)), Policy()),
        TargetInput(fleet_target("b"), state(want(N1)), snapshot(), Policy()),
        TargetInput(fleet_target("quiet"), state(want(N2)), snapshot(row(N2)), Policy()),
    ]
    failure = TargetFailure(fleet_target("down"), "could not read the account: boom\n<b>x</b>")
    return make_fleet_plan(items, [failure])


def test_a_move_is_one_line_and_each_end_points_at_the_other():
    out = render.format_plan(sample())
    assert out.count("move +91 80 4431 9241 from a to b") == 1
    assert "(move to b)" in out
    assert "(inbound.yaml:241, move from a)" in out


def test_the_text_summary_lists_every_target_and_the_total():
    lines = render.format_plan(sample()).splitlines()
    start = lines.index("Fleet: 4 targets, 2 with changes, 1 move, 1 failed.")
    assert [line.split()[0] for line in lines[start + 1 :]] == ["a", "b", "down", "quiet", "total"]
    assert "  down   failed" in lines


def test_a_failed_target_keeps_its_message_on_its_own_lines():
    out = render.format_plan(sample())
    assert "  failed: could not read the account: boom\n    <b>x</b>" in out


def test_markdown_collapses_the_targets_without_changes():
    out = render.format_plan_markdown(sample())
    assert "<details open><summary><b>a</b>: Plan: 0 to assign" in out
    assert "<details><summary><b>quiet</b>: No changes. 1 unchanged, 0 unmanaged.</summary>" in out
    assert (
        "> **down could not be planned:** could not read the account: boom\\\\n&lt;b&gt;x&lt;/b&gt;"
        in out
    )
    assert "<b>x</b>" not in out


def test_github_annotations_name_their_target():
    out = render.format_plan_github(sample())
    assert (
        "title=inbound-sync plan%3A b::assign +91 80 4431 9241: assistant support (move from a)"
        in out
    )
    assert (
        "::error title=inbound-sync%3A down failed::could not read the account: boom\\n<b>x</b>"
        in out
    )


def test_move_line_escapes_per_format():
    move = Move(N1, "a", "b")
    assert render.move_line(move, str) == "move +91 80 4431 9241 from a to b"


def test_a_targets_unmanaged_numbers_and_warnings_are_in_its_section():
    plan = make_fleet_plan(
        [
            TargetInput(
                fleet_target("a"),
                state(),
                snapshot(row(N1), row(N2, phone_number="x", inbound_id="dup"), row(N2)),
                Policy(),
            )
        ]
    )
    out = render.format_plan(plan)
    assert "  Unmanaged (in the account, not in git; left alone):\n    +91 80 4431 9241" in out
    assert "  Warnings:\n    - mappings dup and id-918044319242 share the number" in out
    markdown = render.format_plan_markdown(plan)
    assert "Unmanaged numbers (2), left alone:" in markdown
    assert "**Warnings**" in markdown
