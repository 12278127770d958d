"""Hostile names in the account, through the commands as CI runs them: nothing from the data
reaches a terminal raw, starts a workflow command, or adds a tag to the step summary."""

from __future__ import annotations

import io

import pytest

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from render_checks import check_github, check_markdown, check_text
from sandbox_fixtures import ACME, CRM, SALES, SUPPORT, controller

EVIL = "Evil\n::error file=x.yaml,line=1::pwned\x1b]8;;http://e.invalid\x07</details><h1>x</h1>|"
SEED = {
    "tenants": {
        "acme": {
            "api_key": ACME,
            "assistants": {SUPPORT: EVIL, SALES: "Sales Assistant"},
            "strategies": {CRM: f"crm {EVIL}"},
            "mappings": [
                {"phone_number": "+918044319240", "assistant_id": SUPPORT},
                {
                    "phone_number": "+918044319250",
                    "assistant_id": SUPPORT,
                    "inbound_context_strategy_id": CRM,
                },
            ],
        }
    }
}
CONFIG = f"""\
version: 1
assistants:
  sales: {SALES}
numbers:
  - number: "+91 80 4431 9240"
    assistant: sales
"""


@pytest.fixture
def hostile(monkeypatch, tmp_path):
    app = create_app(seed=SEED)
    with running_server(app) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME)
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
        yield tmp_path
    controller(app).close()


def test_list_shows_a_hostile_name_on_its_own_line(hostile, run_cli):
    run = run_cli("list")
    assert run.code == 0
    check_text(run.out)
    assert len(run.out.splitlines()) == 4
    assert "Evil\\n::error file=x.yaml,line=1::pwned\\x1b]8;;http://e.invalid\\x07" in run.out


def test_plan_github_annotates_only_the_change(hostile, run_cli):
    run = run_cli("plan", str(hostile / "inbound.yaml"), "--format", "github")
    assert run.code == 0
    check_github(run.out, annotations=1)
    assert run.err == ""
    check_markdown((hostile / "summary.md").read_text(encoding="utf-8"), columns=5)


def test_apply_github_preview_progress_and_report_start_no_command(hostile, run_cli):
    run = run_cli("apply", str(hostile / "inbound.yaml"), "--format", "github", "--auto-approve")
    assert run.code == 0, run.err
    # The preview and the progress lines go to stderr, which the runner reads for commands too.
    check_text(run.err)
    assert "assistant Evil\\n::error file=x.yaml" in run.err
    check_github(run.out, annotations=0)
    check_markdown((hostile / "summary.md").read_text(encoding="utf-8"), columns=4)


def test_drift_markdown_keeps_the_details_closed_once(hostile, run_cli):
    run = run_cli("drift", str(hostile / "inbound.yaml"), "--format", "markdown")
    assert run.code == 2
    # Number, what differs, source, and who changed it last (the provenance column).
    check_markdown(run.out, columns=4)
    assert "&lt;/details&gt;&lt;h1&gt;" in run.out


def test_drift_text_is_plain_under_no_color(hostile, run_cli):
    run = run_cli("drift", str(hostile / "inbound.yaml"))
    assert run.code == 2
    check_text(run.out)
    # The OSC sequence is not a CSI one, so click's stripping off a terminal would not catch it.
    assert "\x1b" not in run.out
    assert "pwned\\x1b]8;;http://e.invalid\\x07" in run.out
