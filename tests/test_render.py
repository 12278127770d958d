"""Golden-file tests of every output format. Regenerate with UPDATE_GOLDEN=1 after a reviewed change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from inbound_sync.plan import Policy, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from inbound_sync.render import github, markdown, text
from planning import A1, A2, S1, row, snapshot, state, want

GOLDEN = Path(__file__).parent / "golden"
OTHER = "99999999-0000-4000-8000-000000000000"


def n(i: int) -> str:
    return f"9180443192{i:02d}"


def sample_plan(**kw):
    desired = state(
        want(n(40), A1, S1),
        want(n(41), None),
        want(n(42), ensure="absent"),
        want(n(43), A2),
        want(n(44), A1),
        **kw,
    )
    snap = snapshot(
        row(n(40), A2, S1, assistant_name="Sales Assistant"),
        row(n(41), A1, S1, assistant_name="Support Assistant", strategy_name="CRM lookup"),
        row(n(42), A1, assistant_name="Support Assistant"),
        row(n(44), A1, assistant_name="Support Assistant"),
        row("918044319999", OTHER, None, assistant_name="Globex | Bot"),
    )
    return desired, make_plan(desired, snap, Policy(desired.safety))


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), (
        f"{name} differs; UPDATE_GOLDEN=1 after review"
    )


RENDERERS = {
    "plan.txt": lambda p: text.format_plan(p),
    "drift.txt": lambda p: text.format_drift(p),
    "plan.md": lambda p: markdown.format_plan(p),
    "drift.md": lambda p: markdown.format_drift(p),
    "plan.github": lambda p: github.format_plan(p),
    "drift.github": lambda p: github.format_drift(p),
}


@pytest.mark.parametrize("name", RENDERERS)
def test_golden_output(name):
    _, plan = sample_plan()
    check_golden(name, RENDERERS[name](plan))


def test_golden_json_document():
    desired, plan = sample_plan()
    check_golden(
        "plan.json",
        dumps(plan_document(plan, desired, Policy(desired.safety), "http://127.0.0.1:8787")),
    )


def test_json_document_validates_against_the_published_schema():
    import jsonschema

    desired, plan = sample_plan()
    document = json.loads(dumps(plan_document(plan, desired, Policy(desired.safety), "https://x")))
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(document, schema)


def test_json_is_byte_identical_for_the_same_inputs():
    first, second = sample_plan(), sample_plan()
    render = lambda d, p: dumps(plan_document(p, d, Policy(d.safety), "https://x"))  # noqa: E731
    assert render(*first) == render(*second)


def test_colour_only_when_asked():
    _, plan = sample_plan()
    assert "\x1b[" not in text.format_plan(plan, color=False)
    assert "\x1b[" in text.format_plan(plan, color=True)


def test_refusals_are_explained_with_the_override():
    _, plan = sample_plan(unmanaged="delete", max_destructive=1)
    out = text.format_refusals(plan)
    assert (
        "3 destructive changes (deletes, detaches and unroutings) exceed safety.max_destructive = 1"
        in out
    )
    assert "--allow-destructive" in out
    assert "> [!CAUTION]" in markdown.format_plan(plan)
    assert "::error title=inbound-sync%3A refused::3 destructive changes" in github.format_plan(
        plan
    )


def test_github_annotation_escapes_commas_colons_and_newlines():
    line = github.annotation("warning", "a%b\nc", "dir,x/in:bound.yaml:7", "t")
    # The line break is shown as \n, as in text output, then percent-encoded with the rest.
    assert line == "::warning file=dir%2Cx/in%3Abound.yaml,line=7,title=t::a%25b\\nc"


def test_in_sync_drift_reads_as_such():
    desired = state(want(n(40), A1))
    plan = make_plan(desired, snapshot(row(n(40), A1)), Policy())
    assert text.format_drift(plan) == "In sync: the account matches git (0 unmanaged).\n"
