"""Names from the API and strings from configs cannot change the shape of any output format.

In text no raw control character from data reaches the terminal; in github format no datum starts
a workflow command or ends an annotation; in Markdown no tag from data survives and no cell breaks
its table; JSON gives the data back as it came.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound_sync.apply import ApplyReport, Outcome
from inbound_sync.cli.listing import format_json as list_json
from inbound_sync.cli.listing import format_table
from inbound_sync.config import DesiredNumber, DesiredState, SafetyPolicy
from inbound_sync.plan import Plan, Policy, RemoteRow, Snapshot, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from inbound_sync.render import github, markdown, report, text, words
from inbound_sync.render.documents import drift_document
from planning import A1, A2, S1, S2, row, snapshot, state, want
from render_checks import check_github, check_markdown, check_text

OTHER = "99999999-0000-4000-8000-000000000000"
NAME = "x\n::error file=evil.yaml,line=1::pwned </details><h1>big</h1> | `c` \x1b]8;;http://e\x07"


def n(i: int) -> str:
    return f"9180443192{i:02d}"


def hostile_plan(name: str = NAME) -> tuple[DesiredState, Plan]:
    """Every kind of datum a plan shows holds `name`: labels, ids, numbers, sources, warnings."""
    desired = state(want(n(40), A1, S1), want(n(41), A2), want(n(42), ensure="absent"))
    desired = desired._replace(
        assistants={f"alias {name}": A1},
        numbers=tuple(d._replace(source=f"{name}.yaml:{i}") for i, d in enumerate(desired.numbers)),
    )
    snap = snapshot(
        row(n(40), A2, S2, assistant_name=name, strategy_name=name, inbound_id=name),
        row(n(42), A2, inbound_id=f"{name} 2"),
        row(n(42), A2, inbound_id=f"{name} 3"),
        row(f"{name}1", OTHER, assistant_name=name, inbound_id=f"{name} 4"),
    )
    return desired, make_plan(desired, snap, Policy(desired.safety))


def hostile_report(plan: Plan, message: str, unverified: str | None = None) -> ApplyReport:
    outcomes = tuple(
        Outcome(c, ("done", "failed", "skipped")[i % 3], message)
        for i, c in enumerate(plan.changes)
    )
    return ApplyReport(outcomes, plan, None, unverified=unverified)


# -- each format on one hostile name -------------------------------------------------------------


def test_text_plan_shows_control_characters_and_starts_no_command():
    _, plan = hostile_plan()
    for color in (False, True):
        out = text.format_plan(plan, color=color)
        check_text(out, color=color)
        assert "\\n::error file=evil.yaml" in out
        assert "\\x1b]8;;http://e\\x07" in out
    assert "\x1b[" in text.format_plan(plan, color=True)  # our own colour still works


def test_text_drift_and_refusals_escape_data():
    desired, _ = hostile_plan()
    numbers = tuple(d._replace(protect=True) for d in desired.numbers)
    desired = desired._replace(numbers=numbers, unmanaged="delete")
    _, hostile = hostile_plan()
    plan = make_plan(desired, snapshot(*_rows_of(hostile)), Policy(desired.safety))
    assert plan.refusals
    check_text(text.format_drift(plan))
    check_text(text.format_refusals(plan, color=True), color=True)


def _rows_of(plan: Plan) -> list[RemoteRow]:
    return [
        row(n(40), A2, S2, assistant_name=NAME, inbound_id="a"),
        row(n(42), A2, inbound_id="b"),
        *plan.unmanaged,
    ]


def test_github_plan_cannot_be_given_a_workflow_command():
    _, plan = hostile_plan()
    out = github.format_plan(plan)
    check_github(out, len(plan.changes) + len(plan.refusals) + len(plan.warnings))
    assert "::error file=evil.yaml" not in out.replace("\\n::error file=evil.yaml", "")


def test_github_drift_cannot_be_given_a_workflow_command():
    _, plan = hostile_plan()
    check_github(github.format_drift(plan), len(plan.changes) + len(plan.warnings))


def test_markdown_plan_keeps_its_table_and_its_details():
    _, plan = hostile_plan()
    out = markdown.format_plan(plan)
    check_markdown(out, columns=5)
    assert "&lt;/details&gt;&lt;h1&gt;" in out


def test_markdown_drift_keeps_its_table_and_its_details():
    _, plan = hostile_plan()
    check_markdown(markdown.format_drift(plan), columns=3)


def test_apply_report_escapes_server_messages_in_every_format():
    _, plan = hostile_plan()
    result = hostile_report(plan, NAME, unverified=f"HTTP 502: {NAME}")
    check_text(report.format_text(result, color=True), color=True)
    check_markdown(report.format_markdown(result), columns=4)
    failed = sum(1 for o in result.outcomes if o.status == "failed")
    check_github(report.format_github(result), failed + 1)
    document = json.loads(report.format_json(result))
    assert {o["message"] for o in document["outcomes"]} == {NAME}
    assert document["verification_error"] == f"HTTP 502: {NAME}"


def test_progress_line_is_one_line_with_data_visible():
    _, plan = hostile_plan()
    line = report.progress_line(Outcome(plan.changes[0], "failed", NAME), 1, 3)
    check_text(line + "\n")
    assert line.startswith("[1/3] failed")


def test_list_table_escapes_names_and_keeps_its_columns():
    snap = Snapshot(
        rows=(
            row(n(40), A1, S1, assistant_name=NAME, strategy_name=NAME, updated_at=NAME),
            row(n(41), None, None),
        )
    )
    out = format_table(snap)
    check_text(out)
    assert len(out.splitlines()) == 4
    items = json.loads(list_json(snap))
    assert items[0]["assistant_name"] == NAME


def test_ordinary_names_render_as_before():
    # The golden files hold the ordinary case byte for byte; this pins the characters in between.
    desired = state(want(n(40), A1))._replace(assistants={"support_en": A1})
    name = "Night desk (v2.1), 50% - Paris: 'A'"
    plan = make_plan(desired, snapshot(row(n(40), A2, assistant_name=name)), Policy())
    change = f"assistant {name} → support_en"
    assert f"{change}  (inbound.yaml:240)" in text.format_plan(plan)
    assert f"| {change} | `inbound.yaml:240` |" in markdown.format_plan(plan)
    assert f"9240: {change.replace('%', '%25')}\n" in github.format_plan(plan)


def test_an_ampersand_is_written_as_html_writes_it():
    desired = state(want(n(40), A1))
    plan = make_plan(desired, snapshot(row(n(40), A2, assistant_name="R&D")), Policy())
    assert "assistant R&D → support" in text.format_plan(plan)
    assert "assistant R&amp;D → support" in markdown.format_plan(plan)


# -- the same on random text ---------------------------------------------------------------------

FRAGMENTS = [
    "\n",
    "\r",
    "\r\n",
    "\x1b[31m",
    "\x1b]8;;x\x07",
    "\x85",
    "\x9b",
    "\u2028",
    "\u2029",
    "\u202e",
    "::",
    "::error::",
    "%",
    "%0A",
    ",",
    ":",
    "<tag>",
    "</details>",
    "|",
    "`",
    "\\",
    "&",
    "*",
    "_",
    "# ",
    "- ",
    "1. ",
    "[a](b)",
]
DATA = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=6).map("".join)


@st.composite
def random_plans(draw: st.DrawFn) -> tuple[DesiredState, Plan, ApplyReport]:
    def datum() -> str:
        return draw(DATA)

    def ident() -> str:
        return draw(DATA.filter(lambda s: s not in ("", ".", "..")))

    aliases = draw(st.lists(DATA, min_size=2, max_size=2, unique=True))
    numbers = (
        DesiredNumber(n(40), "+" + n(40), "present", A1, S1, source=f"{datum()}:40"),
        DesiredNumber(n(41), "+" + n(41), "present", A2, None, source=datum() or None),
        DesiredNumber(
            n(42), "+" + n(42), "absent", None, None, protect=draw(st.booleans()), source=datum()
        ),
    )
    desired = DesiredState(
        numbers=numbers,
        unmanaged=draw(st.sampled_from(["ignore", "detach", "delete"])),
        safety=SafetyPolicy(draw(st.integers(0, 5)), 100.0),
        assistants={aliases[0]: A1},
        strategies={aliases[1]: S1},
    )
    rows = (
        RemoteRow(
            ident(), n(40), "+" + n(40), A2, S2, datum(), datum(), updated_at=datum() or None
        ),
        RemoteRow(ident(), n(42), "+" + n(42), A2, None, assistant_name=datum()),
        RemoteRow(ident(), n(42), datum(), A1, None),
        RemoteRow(ident(), ident(), datum(), OTHER, S2, datum(), datum()),
    )
    plan = make_plan(desired, Snapshot(rows=rows), Policy(desired.safety))
    message = datum()
    unverified = draw(st.one_of(st.none(), DATA))
    return desired, plan, hostile_report(plan, message, unverified)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(random_plans())
def test_no_datum_changes_the_shape_of_any_format(scenario):
    _, plan, result = scenario
    for color in (False, True):
        check_text(text.format_plan(plan, color=color), color=color)
        check_text(text.format_drift(plan, color=color), color=color)
        check_text(text.format_refusals(plan, color=color), color=color)
        check_text(report.format_text(result, color=color), color=color)
    check_markdown(markdown.format_plan(plan), columns=5)
    check_markdown(markdown.format_drift(plan), columns=3)
    check_markdown(report.format_markdown(result), columns=4)
    notes = len(plan.warnings)
    check_github(github.format_plan(plan), len(plan.changes) + len(plan.refusals) + notes)
    check_github(github.format_drift(plan), len(plan.changes) + notes)
    failed = sum(1 for o in result.outcomes if o.status == "failed")
    check_github(report.format_github(result), failed + (not result.converged))
    for i, outcome in enumerate(result.outcomes):
        check_text(report.progress_line(outcome, i + 1, len(result.outcomes)) + "\n")


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(random_plans())
def test_json_gives_the_data_back_as_it_came(scenario):
    desired, plan, result = scenario
    document = json.loads(dumps(plan_document(plan, desired, Policy(desired.safety), "https://x")))
    assert document["warnings"] == list(plan.warnings)
    assert document["refusals"] == list(plan.refusals)
    assert [c["source"] for c in document["changes"]] == [c.source for c in plan.changes]
    assert [u["inbound_id"] for u in document["unmanaged"]] == [
        r.inbound_id for r in plan.unmanaged
    ]
    assert document["desired"]["assistants"] == dict(desired.assistants)
    drift = json.loads(dumps(drift_document(plan)))
    # The reasons hold the labels as they came: `str` leaves each datum as it is.
    reasons = [words.drift_reason(plan, c, str) for c in plan.changes]
    assert [entry["reason"] for entry in drift["drift"]] == reasons
    applied = json.loads(report.format_json(result))
    assert [o["message"] for o in applied["outcomes"]] == [o.message for o in result.outcomes]
    assert applied["verification_error"] == result.unverified


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(DATA, DATA, DATA), min_size=1, max_size=4))
def test_list_table_has_one_line_per_mapping_whatever_the_names(names):
    rows = tuple(
        RemoteRow(f"id{i}", n(40 + i), "", A1, S1, a, s, updated_at=u)
        for i, (a, s, u) in enumerate(names)
    )
    out = format_table(Snapshot(rows=rows))
    check_text(out)
    assert len(out.splitlines()) == len(rows) + 2
    items = json.loads(list_json(Snapshot(rows=rows)))
    assert [(i["assistant_name"], i["inbound_context_strategy_name"]) for i in items] == [
        (a, s) for a, s, _ in names
    ]
