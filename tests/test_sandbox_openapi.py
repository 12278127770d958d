"""schemas/inbound-api.openapi.json describes the API, and the sandbox's answers fit it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from inbound_sync.sandbox.app import API_ROUTES
from sandbox_fixtures import (
    CRM,
    GLOBEX_MAPPING,
    SALES,
    assign,
    assign_body,
    call,
    sandbox_app,
)

SPEC_PATH = Path(__file__).resolve().parents[1] / "schemas" / "inbound-api.openapi.json"
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
UNKNOWN = "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"


def validator(schema: dict) -> Draft202012Validator:
    """Validate against `schema` with the spec's components reachable as #/components/..."""
    return Draft202012Validator({**schema, "components": SPEC["components"]})


def response_schema(method: str, template: str, status: int) -> dict:
    response = SPEC["paths"][template][method.lower()]["responses"][str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def request_schema(method: str, template: str) -> dict:
    body = SPEC["paths"][template][method.lower()]["requestBody"]
    return body["content"]["application/json"]["schema"]


def test_the_spec_is_openapi_3_1_with_valid_schemas():
    assert SPEC["openapi"].startswith("3.1")
    for schema in SPEC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <your_api_key>",
    }


def test_the_spec_has_exactly_the_five_operations_the_sandbox_serves():
    documented = {
        (method.upper(), template)
        for template, operations in SPEC["paths"].items()
        for method in operations
    }
    assert documented == set(API_ROUTES)


@pytest.mark.parametrize(
    "body",
    [
        assign_body("+918044319240"),
        assign_body("+918044319240", strategy=CRM),
    ],
)
def test_the_documented_assign_requests_fit_the_request_schema(body):
    validator(request_schema("POST", "/inbound/assign")).validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"assistant_id": SALES},
        {"inbound_context_strategy_id": CRM},
        {"inbound_context_strategy_id": None},
    ],
)
def test_the_documented_update_requests_fit_the_request_schema(body):
    validator(request_schema("PATCH", "/inbound/update/{inbound_id}")).validate(body)


def test_an_assign_without_service_does_not_fit_the_request_schema():
    body = assign_body("+918044319240")
    del body["service"]
    assert not validator(request_schema("POST", "/inbound/assign")).is_valid(body)


def _exchanges(app):
    """(method, template, response) for a success and every documented error of each operation."""
    mapping = assign(app, "+918044319240", strategy=CRM)
    detached = assign(app, "+918044319241")
    update, detach, delete = (
        "/inbound/update/{inbound_id}",
        "/inbound/detach/{inbound_id}",
        "/inbound/delete/{inbound_id}",
    )
    yield (
        "POST",
        "/inbound/assign",
        call(app, "POST", "/inbound/assign", json=assign_body("+918044319242")),
    )
    yield "POST", "/inbound/assign", call(app, "POST", "/inbound/assign", json={"service": "x"})
    yield "POST", "/inbound/assign", call(app, "POST", "/inbound/assign", key=None, json={})
    yield (
        "POST",
        "/inbound/assign",
        call(app, "POST", "/inbound/assign", json=assign_body("+918044319243", "nope")),
    )
    yield (
        "POST",
        "/inbound/assign",
        call(app, "POST", "/inbound/assign", json=assign_body("+918044319240")),
    )
    yield (
        "PATCH",
        update,
        call(app, "PATCH", f"/inbound/update/{mapping}", json={"assistant_id": SALES}),
    )
    yield (
        "PATCH",
        update,
        call(app, "PATCH", f"/inbound/update/{mapping}", json={"assistant_id": 3}),
    )
    yield "PATCH", update, call(app, "PATCH", f"/inbound/update/{mapping}", key=None, json={})
    yield "PATCH", update, call(app, "PATCH", f"/inbound/update/{GLOBEX_MAPPING}", json={})
    yield "POST", detach, call(app, "POST", f"/inbound/detach/{detached}")
    yield "POST", detach, call(app, "POST", f"/inbound/detach/{detached}", key=None)
    yield "POST", detach, call(app, "POST", f"/inbound/detach/{UNKNOWN}")
    yield "GET", "/inbound/list", call(app, "GET", "/inbound/list")
    yield "GET", "/inbound/list", call(app, "GET", "/inbound/list", key=None)
    yield "DELETE", delete, call(app, "DELETE", f"/inbound/delete/{mapping}")
    yield "DELETE", delete, call(app, "DELETE", f"/inbound/delete/{mapping}", key=None)
    yield "DELETE", delete, call(app, "DELETE", f"/inbound/delete/{mapping}")


def test_every_answer_of_the_sandbox_fits_the_spec():
    with sandbox_app() as app:
        seen = set()
        for method, template, response in _exchanges(app):
            schema = response_schema(method, template, response.status_code)
            validator(schema).validate(response.json())
            seen.add((method, template, response.status_code))
    documented = {
        (method.upper(), template, int(status))
        for template, operations in SPEC["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    assert seen == documented


def test_a_response_with_an_extra_field_fits_as_a_real_api_adds_fields():
    schema = response_schema("DELETE", "/inbound/delete/{inbound_id}", 200)
    body = {"success": True, "message": "ok", "data": {"inbound_id": "x", "extra": 1}}
    assert validator(schema).is_valid({**body, "request_id": "r-1"})


def test_a_response_missing_a_documented_field_does_not_fit():
    schema = response_schema("DELETE", "/inbound/delete/{inbound_id}", 200)
    assert not validator(schema).is_valid({"success": True, "message": "ok", "data": {}})


# The statuses the vendor's reference documents, per operation; every other one is a guess.
DOCUMENTED = {
    ("post", "/inbound/assign"): {"200", "400", "404", "409"},
    ("patch", "/inbound/update/{inbound_id}"): {"200"},
    ("post", "/inbound/detach/{inbound_id}"): {"200"},
    ("delete", "/inbound/delete/{inbound_id}"): {"200"},
    ("get", "/inbound/list"): {"200"},
}


@pytest.mark.parametrize(("method", "template"), sorted(DOCUMENTED))
def test_every_undocumented_status_is_marked_as_an_assumption(method, template):
    operation = SPEC["paths"][template][method]
    guessed = set(operation["responses"]) - DOCUMENTED[(method, template)]
    assert guessed, "each operation has at least the assumed 401"
    note = operation["x-inbound-sync-assumption"]
    for status in guessed:
        assert status in note, (status, note)


def test_the_error_body_is_marked_as_an_assumption():
    assert "x-inbound-sync-assumption" in SPEC["components"]["schemas"]["ErrorResponse"]
    for response in SPEC["components"]["responses"].values():
        assert "no error body" in response["x-inbound-sync-assumption"]


def test_the_spec_refers_to_no_file_outside_the_repository():
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert "shared/" not in text
    assert '"additionalProperties": false' not in text
