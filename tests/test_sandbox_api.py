"""The sandbox implements the Inbound API contract: shapes, rules and every error code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from sandbox_fixtures import (
    ACME,
    CRM,
    GLOBEX,
    GLOBEX_ASSISTANT,
    GLOBEX_MAPPING,
    GLOBEX_NUMBER,
    SALES,
    SUPPORT,
    FakeClock,
    assign,
    assign_body,
    call,
    error,
    listed,
    run,
    sandbox_app,
)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def timed_app(clock):
    with sandbox_app(clock=clock) as app:
        yield app


# -- assign -------------------------------------------------------------------------------------


def test_assign_answers_the_documented_shape(app):
    body = assign_body("+918044319240", strategy=CRM)
    response = call(app, "POST", "/inbound/assign", json=body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["success"] is True
    assert payload["message"] == "Inbound number assigned successfully"
    data = payload["data"]
    assert list(data) == [
        "inbound_id",
        "phone_number",
        "phone_number_normalized",
        "assistant_id",
        "inbound_context_strategy_id",
        "inbound_context_strategy_name",
        "service",
        "inbound_config",
    ]
    assert data["phone_number"] == "+918044319240"
    assert data["phone_number_normalized"] == "918044319240"
    assert data["assistant_id"] == SUPPORT
    assert data["inbound_context_strategy_id"] == CRM
    assert data["inbound_context_strategy_name"] == "CRM lookup"
    assert data["service"] == "exotel"


def test_assign_without_strategy_has_null_strategy_fields(app):
    data = call(app, "POST", "/inbound/assign", json=assign_body("+918044319240")).json()["data"]
    assert data["inbound_context_strategy_id"] is None
    assert data["inbound_context_strategy_name"] is None


def test_assign_injects_the_config_type_from_the_service(app):
    data = call(app, "POST", "/inbound/assign", json=assign_body("+918044319240")).json()["data"]
    assert data["inbound_config"] == {"type": "exotel", "phone_number": "+918044319240"}


def test_assign_accepts_a_config_type_equal_to_the_service(app):
    body = assign_body("+918044319240")
    body["inbound_config"]["type"] = "exotel"
    assert call(app, "POST", "/inbound/assign", json=body).status_code == 200


def test_assign_stores_the_number_as_submitted_and_normalizes_it_as_indian(app):
    data = call(app, "POST", "/inbound/assign", json=assign_body("080 4431 9240")).json()["data"]
    assert data["phone_number"] == "080 4431 9240"
    assert data["phone_number_normalized"] == "918044319240"
    assert data["inbound_config"]["phone_number"] == "080 4431 9240"


def test_assign_rejects_a_config_type_other_than_the_service(app):
    body = assign_body("+918044319240")
    body["inbound_config"]["type"] = "twilio"
    assert "must match service" in error(call(app, "POST", "/inbound/assign", json=body), 400)


def test_assign_rejects_an_unsupported_service(app):
    body = {**assign_body("+918044319240"), "service": "twilio"}
    assert "Unsupported service" in error(call(app, "POST", "/inbound/assign", json=body), 400)


@pytest.mark.parametrize("number", ["12345", "not a number", "+91 80"])
def test_assign_rejects_an_invalid_number(app, number):
    response = call(app, "POST", "/inbound/assign", json=assign_body(number))
    assert "Invalid inbound phone number" in error(response, 400)
    assert listed(app) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"assistant_id": None}, "assistant_id"),
        ({"assistant_id": 7}, "assistant_id"),
        ({"service": None}, "service"),
        ({"inbound_config": None}, "inbound_config"),
        ({"inbound_config": "+918044319240"}, "inbound_config"),
        ({"inbound_config": {"type": "exotel"}}, "inbound_config.phone_number"),
        ({"inbound_config": {"phone_number": 918044319240}}, "inbound_config.phone_number"),
        ({"inbound_context_strategy_id": 3}, "inbound_context_strategy_id"),
    ],
)
def test_assign_rejects_missing_or_mistyped_fields(app, change, field):
    body = {**assign_body("+918044319240"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert field in error(call(app, "POST", "/inbound/assign", json=body), 400)


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe\x00"])
def test_assign_rejects_a_body_that_is_not_a_json_object(app, content):
    response = call(app, "POST", "/inbound/assign", content=content)
    assert "JSON" in error(response, 400)


@pytest.mark.parametrize("key", [None, "", "sandbox-key-nobody", "sandbox-admin"])
def test_requests_without_a_known_api_key_are_401(app, key):
    body = assign_body("+918044319240")
    assert error(call(app, "POST", "/inbound/assign", key=key, json=body), 401)
    assert error(call(app, "GET", "/inbound/list", key=key), 401)


def test_a_non_bearer_authorization_header_is_401(app):
    async def scenario(client):
        headers = {"Authorization": f"Basic {ACME}"}
        return await client.get("/inbound/list", headers=headers)

    assert error(run(app, scenario), 401)


def test_assign_to_another_tenants_assistant_is_404(app):
    response = call(
        app, "POST", "/inbound/assign", json=assign_body("+918044319240", GLOBEX_ASSISTANT)
    )
    assert error(response, 404) == "Assistant not found"


def test_assign_to_an_unknown_assistant_is_404(app):
    response = call(app, "POST", "/inbound/assign", json=assign_body("+918044319240", "nope"))
    assert error(response, 404) == "Assistant not found"


def test_assign_with_another_tenants_strategy_is_404(app):
    body = assign_body("+918044319240", GLOBEX_ASSISTANT, strategy=CRM)
    response = call(app, "POST", "/inbound/assign", key=GLOBEX, json=body)
    assert error(response, 404) == "Inbound context strategy not found"


def test_assign_of_a_number_already_active_in_another_format_is_409(app):
    assign(app, "+91 80 4431 9240")
    response = call(app, "POST", "/inbound/assign", json=assign_body("080-4431-9240", SALES))
    message = error(response, 409)
    assert message == "Normalized inbound number is already assigned to an active mapping"
    assert len(listed(app)) == 1


def test_uniqueness_spans_tenants(app):
    response = call(app, "POST", "/inbound/assign", json=assign_body(GLOBEX_NUMBER))
    assert error(response, 409).startswith("Normalized inbound number")
    assert listed(app) == []


# -- update -------------------------------------------------------------------------------------


def test_update_assistant_only_keeps_the_strategy(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    response = call(app, "PATCH", f"/inbound/update/{inbound_id}", json={"assistant_id": SALES})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Inbound number mapping updated successfully",
        "data": {
            "inbound_id": inbound_id,
            "assistant_id": SALES,
            "inbound_context_strategy_id": CRM,
        },
    }


def test_update_strategy_only_keeps_the_assistant(app):
    inbound_id = assign(app, "+918044319240")
    body = {"inbound_context_strategy_id": CRM}
    data = call(app, "PATCH", f"/inbound/update/{inbound_id}", json=body).json()["data"]
    assert (data["assistant_id"], data["inbound_context_strategy_id"]) == (SUPPORT, CRM)


def test_update_with_null_clears_the_strategy(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    body = {"inbound_context_strategy_id": None}
    data = call(app, "PATCH", f"/inbound/update/{inbound_id}", json=body).json()["data"]
    assert (data["assistant_id"], data["inbound_context_strategy_id"]) == (SUPPORT, None)


def test_update_with_null_assistant_detaches_the_assistant_only(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    data = call(app, "PATCH", f"/inbound/update/{inbound_id}", json={"assistant_id": None})
    assert data.json()["data"]["assistant_id"] is None
    [row] = listed(app)
    assert (row["assistant_id"], row["assistant_name"]) == (None, None)
    assert row["inbound_context_strategy_name"] == "CRM lookup"


def test_update_with_no_known_field_changes_nothing(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    data = call(app, "PATCH", f"/inbound/update/{inbound_id}", json={}).json()["data"]
    assert (data["assistant_id"], data["inbound_context_strategy_id"]) == (SUPPORT, CRM)


def test_update_moves_updated_at_but_not_created_at(timed_app, clock):
    inbound_id = assign(timed_app, "+918044319240")
    clock.advance(60)
    call(timed_app, "PATCH", f"/inbound/update/{inbound_id}", json={"assistant_id": SALES})
    [row] = listed(timed_app)
    assert row["created_at"] == "2026-03-18T11:30:00Z"
    assert row["updated_at"] == "2026-03-18T11:31:00Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"assistant_id": GLOBEX_ASSISTANT}, "Assistant not found"),
        ({"assistant_id": "unknown"}, "Assistant not found"),
        ({"inbound_context_strategy_id": "unknown"}, "Inbound context strategy not found"),
    ],
)
def test_update_to_a_reference_the_tenant_does_not_own_is_404(app, body, message):
    inbound_id = assign(app, "+918044319240")
    assert error(call(app, "PATCH", f"/inbound/update/{inbound_id}", json=body), 404) == message
    assert listed(app)[0]["assistant_id"] == SUPPORT


@pytest.mark.parametrize("body", [{"assistant_id": 1}, {"inbound_context_strategy_id": ""}])
def test_update_rejects_mistyped_fields(app, body):
    inbound_id = assign(app, "+918044319240")
    assert error(call(app, "PATCH", f"/inbound/update/{inbound_id}", json=body), 400)


def test_update_rejects_a_non_json_body(app):
    inbound_id = assign(app, "+918044319240")
    response = call(app, "PATCH", f"/inbound/update/{inbound_id}", content=b"assistant_id=x")
    assert "JSON" in error(response, 400)


# -- mappings that are unknown, deleted, or another tenant's ------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/inbound/update/{id}", {"assistant_id": SALES}),
        ("POST", "/inbound/detach/{id}", None),
        ("DELETE", "/inbound/delete/{id}", None),
    ],
)
@pytest.mark.parametrize("whose", ["unknown", "other tenant", "deleted"])
def test_a_mapping_the_caller_cannot_see_is_404(app, method, path, body, whose):
    ids = {"unknown": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6", "other tenant": GLOBEX_MAPPING}
    if whose == "deleted":
        ids["deleted"] = assign(app, "+918044319240")
        assert call(app, "DELETE", f"/inbound/delete/{ids['deleted']}").status_code == 200
    response = call(app, method, path.format(id=ids[whose]), json=body)
    assert error(response, 404) == "Inbound mapping not found"
    assert listed(app, GLOBEX)[0]["assistant_id"] == GLOBEX_ASSISTANT


# -- detach -------------------------------------------------------------------------------------


def test_detach_clears_assistant_and_strategy_and_keeps_the_row_listed(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    response = call(app, "POST", f"/inbound/detach/{inbound_id}")
    assert response.json() == {
        "success": True,
        "message": "Inbound number detached successfully",
        "data": {
            "inbound_id": inbound_id,
            "assistant_id": None,
            "inbound_context_strategy_id": None,
        },
    }
    [row] = listed(app)
    assert row["inbound_id"] == inbound_id
    assert row["assistant_id"] is row["assistant_name"] is None
    assert row["inbound_context_strategy_id"] is row["inbound_context_strategy_name"] is None


def test_a_detached_number_still_holds_its_number(app):
    inbound_id = assign(app, "+918044319240")
    call(app, "POST", f"/inbound/detach/{inbound_id}")
    assert error(call(app, "POST", "/inbound/assign", json=assign_body("+918044319240")), 409)


def test_a_detached_mapping_can_be_attached_again(app):
    inbound_id = assign(app, "+918044319240")
    call(app, "POST", f"/inbound/detach/{inbound_id}")
    body = {"assistant_id": SALES, "inbound_context_strategy_id": CRM}
    assert call(app, "PATCH", f"/inbound/update/{inbound_id}", json=body).status_code == 200
    assert listed(app)[0]["assistant_name"] == "Sales Assistant"


# -- delete -------------------------------------------------------------------------------------


def test_delete_answers_the_documented_shape_and_unlists_the_mapping(app):
    inbound_id = assign(app, "+918044319240")
    response = call(app, "DELETE", f"/inbound/delete/{inbound_id}")
    assert response.json() == {
        "success": True,
        "message": "Inbound number deleted successfully",
        "data": {"inbound_id": inbound_id},
    }
    assert listed(app) == []


def test_delete_releases_the_number_for_reuse_under_a_new_id(app):
    first = assign(app, "+918044319240")
    call(app, "DELETE", f"/inbound/delete/{first}")
    second = assign(app, "080 4431 9240", assistant=SALES)
    assert second != first
    assert [row["inbound_id"] for row in listed(app)] == [second]


def test_a_number_released_by_one_tenant_can_be_taken_by_another(app):
    assert call(app, "DELETE", f"/inbound/delete/{GLOBEX_MAPPING}", key=GLOBEX).status_code == 200
    assign(app, GLOBEX_NUMBER)
    assert listed(app, GLOBEX) == []
    assert listed(app)[0]["phone_number_normalized"] == "918044319999"


# -- list ---------------------------------------------------------------------------------------


def test_list_shows_only_the_callers_active_mappings(app):
    kept = assign(app, "+918044319240")
    gone = assign(app, "+918044319241")
    call(app, "DELETE", f"/inbound/delete/{gone}")
    assert [row["inbound_id"] for row in listed(app)] == [kept]
    assert [row["inbound_id"] for row in listed(app, GLOBEX)] == [GLOBEX_MAPPING]


def test_list_answers_the_documented_shape(timed_app):
    assign(timed_app, "+918044319240", strategy=CRM)
    response = call(timed_app, "GET", "/inbound/list")
    assert response.json()["message"] == "Inbound numbers retrieved successfully"
    [row] = response.json()["data"]
    assert {k: v for k, v in row.items() if k != "inbound_id"} == {
        "phone_number": "+918044319240",
        "phone_number_normalized": "918044319240",
        "inbound_config": {"type": "exotel", "phone_number": "+918044319240"},
        "assistant_id": SUPPORT,
        "assistant_name": "Support Assistant",
        "inbound_context_strategy_id": CRM,
        "inbound_context_strategy_name": "CRM lookup",
        "service": "exotel",
        "created_at": "2026-03-18T11:30:00Z",
        "updated_at": "2026-03-18T11:30:00Z",
    }


def test_list_is_ordered_by_created_at_then_inbound_id(timed_app, clock):
    late = assign(timed_app, "+918044319240")
    clock.advance(-10)
    early = sorted(assign(timed_app, f"+91804431925{n}") for n in range(3))
    assert [row["inbound_id"] for row in listed(timed_app)] == [*early, late]


def test_timestamps_are_utc_iso_8601_with_z(app):
    assign(app, "+918044319240")
    [row] = listed(app)
    for field in ("created_at", "updated_at"):
        assert row[field].endswith("Z")
        assert datetime.fromisoformat(row[field].replace("Z", "+00:00")).utcoffset().seconds == 0


def test_unknown_routes_and_methods_answer_the_json_error_shape(app):
    assert error(call(app, "GET", "/inbound/nothing"), 404)
    assert error(call(app, "GET", "/inbound/assign"), 405)


def test_the_package_exports_exactly_what_all_names():
    import inbound_sync.sandbox as package

    public = {name for name in vars(package) if not name.startswith("_")}
    modules = {"admin", "app", "faults", "ratelimit", "server", "store", "wire"}
    assert set(package.__all__) == public - modules


def test_the_sandbox_imports_nothing_of_the_client_side():
    import ast

    import inbound_sync.sandbox as package

    client_side = (
        "inbound_sync.api",
        "inbound_sync.plan",
        "inbound_sync.apply",
        "inbound_sync.config",
    )
    for source in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(name.startswith(client_side) for name in names), source.name
