"""The sandbox keeps to the contract where a user would notice: the config type, and an
assistant deleted in the console (its mappings stay listed; using it again is a 404)."""

from __future__ import annotations

import pytest

from reliability_support import ACME_KEY, run_main, served
from sandbox_fixtures import SALES, SUPPORT, admin, assign, assign_body, call, error, listed


@pytest.mark.parametrize("kind", [None, "twilio", ""])
def test_an_explicit_config_type_other_than_the_service_is_refused(app, kind):
    body = assign_body("+918044319240")
    body["inbound_config"]["type"] = kind
    response = call(app, "POST", "/inbound/assign", json=body)
    assert error(response, 400) == "inbound_config.type must match service"


@pytest.mark.parametrize("config", [{}, {"type": "exotel"}])
def test_the_type_is_injected_when_omitted_or_given_as_the_service(app, config):
    body = assign_body("+918044319240")
    body["inbound_config"].update(config)
    assert call(app, "POST", "/inbound/assign", json=body).status_code == 200


def test_a_deleted_assistant_leaves_its_mappings_listed_and_cannot_be_used_again(app):
    inbound_id = assign(app, "+918044319240", assistant=SALES)
    assign(app, "+918044319241", assistant=SUPPORT)

    response = admin(app, "DELETE", f"/_sandbox/assistants/{SALES}")
    assert response.status_code == 200
    assert response.json()["data"] == {"assistant_id": SALES, "mappings_using_it": 1}

    rows = {r["inbound_id"]: r for r in listed(app)}
    assert (rows[inbound_id]["assistant_id"], rows[inbound_id]["assistant_name"]) == (SALES, None)
    again = call(app, "POST", "/inbound/assign", json=assign_body("+918044319242", SALES))
    assert error(again, 404) == "Assistant not found"
    other = next(i for i in rows if i != inbound_id)
    update = call(app, "PATCH", f"/inbound/update/{other}", json={"assistant_id": SALES})
    assert error(update, 404) == "Assistant not found"
    assert error(admin(app, "DELETE", f"/_sandbox/assistants/{SALES}"), 404) == (
        "Assistant not found"
    )


@pytest.mark.socket
def test_plan_apply_and_drift_when_an_assistant_was_deleted_in_the_console(tmp_path, monkeypatch):
    config = tmp_path / "inbound.yaml"
    config.write_text(
        f"version: 1\nassistants:\n  support: {SUPPORT}\n  sales: {SALES}\nnumbers:\n"
        '  - number: "+918044319240"\n    assistant: sales\n'
        '  - number: "+918044319241"\n    assistant: support\n'
    )
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        assert run_main("apply", str(config), "--auto-approve").code == 0
        assert sandbox.delete_assistant(SALES) == 1

        # git and the account still agree on the id, so there is no change to make; the
        # warning says why calls to the number may fail anyway.
        drift = run_main("drift", str(config))
        assert drift.code == 0, drift.out
        warning = (
            f"assistant {SALES} has no name in the account, unlike the others: it may have "
            "been deleted, and calls to +91 80 4431 9240 may not route"
        )
        assert warning in drift.out + drift.err
        plan = run_main("plan", str(config), "--detailed-exitcode")
        assert plan.code == 0
        assert warning in plan.out + plan.err

        # Routing another number to it fails, naming the alias and the line.
        config.write_text(config.read_text().replace("assistant: support", "assistant: sales"))
        applied = run_main("apply", str(config), "--auto-approve")
        assert applied.code == 1
        assert (
            f"Assistant not found: assistant 'sales' ({SALES}), referenced at {config}:8 "
            "no longer exists in the account, or never did"
        ) in applied.out
