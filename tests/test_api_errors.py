"""Every error shape and every malformed answer becomes one typed, readable exception."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api_payloads import ASSIGN_RESPONSE, LIST_RESPONSE, load
from api_support import OK_BODIES, WRITES, Harness, Op, assign_op, list_op, route
from inbound_sync.api import RetryPolicy
from inbound_sync.api import client as client_module
from inbound_sync.api.models import PAGE_HINTS
from inbound_sync.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    OutcomeUnknown,
    ResponseFormatError,
)

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _assign_fails(response: httpx.Response, expected: type[ApiError] = ApiError) -> Any:
    h = Harness()
    route(h, "POST", "/inbound/assign").mock(return_value=response)
    return h.fails(assign_op, expected)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, BadRequestError),
    ],
)
def test_each_status_has_its_exception(status: int, expected: type[ApiError]) -> None:
    error = _assign_fails(httpx.Response(status), expected)
    assert type(error) is expected
    assert error.status == status
    assert error.operation == "POST /inbound/assign"


def test_an_undocumented_status_is_a_plain_api_error() -> None:
    error = _assign_fails(httpx.Response(418, json={"message": "short and stout"}))
    assert type(error) is ApiError
    assert error.detail == "short and stout"


def test_the_server_message_is_kept_so_the_executor_can_report_it() -> None:
    body = {"success": False, "message": "Inbound context strategy not found"}
    error = _assign_fails(httpx.Response(404, json=body), NotFoundError)
    assert error.detail == "Inbound context strategy not found"
    assert str(error) == (
        "POST /inbound/assign failed (HTTP 404): Inbound context strategy not found"
    )


def test_fastapi_detail_string_is_the_message() -> None:
    body = {"detail": "Assistant not found"}
    assert _assign_fails(httpx.Response(404, json=body)).detail == "Assistant not found"


def test_fastapi_validation_list_names_each_field() -> None:
    body = {
        "detail": [
            {"loc": ["body", "assistant_id"], "msg": "field required", "type": "missing"},
            {"loc": ["body", "inbound_config", "phone_number"], "msg": "invalid number"},
        ]
    }
    error = _assign_fails(httpx.Response(422, json=body), BadRequestError)
    assert error.detail == (
        "body.assistant_id: field required; body.inbound_config.phone_number: invalid number"
    )


def test_a_long_validation_list_is_summarised() -> None:
    items = [{"loc": ["body", f"f{i}"], "msg": "bad"} for i in range(7)]
    error = _assign_fails(httpx.Response(422, json={"detail": items}))
    assert error.detail.endswith("body.f2: bad; and 4 more")


def test_an_html_page_from_a_proxy_is_named_not_dumped() -> None:
    h = Harness(retry=RetryPolicy(attempts=1))
    route(h, "GET", "/inbound/list").respond(
        502, text=NGINX_502, headers={"content-type": "text/html"}
    )
    error = h.fails(list_op, ApiError)
    assert "HTML page titled '502 Bad Gateway'" in error.detail
    assert "<" not in str(error)
    assert "nginx" not in str(error)


def test_an_html_page_without_content_type_is_still_recognised() -> None:
    error = _assign_fails(httpx.Response(404, text="<!doctype html><p>Not here</p>"))
    assert "HTML page" in error.detail
    assert "API URL" in error.detail


def test_an_empty_error_body_gets_a_default_message() -> None:
    assert _assign_fails(httpx.Response(409), ConflictError).detail == (
        "the number is already assigned to an active mapping"
    )
    assert _assign_fails(httpx.Response(400), BadRequestError).detail == (
        "the request was rejected as invalid"
    )


def test_auth_errors_say_the_key_was_refused_and_keep_the_servers_word() -> None:
    plain = _assign_fails(httpx.Response(401), AuthError)
    worded = _assign_fails(httpx.Response(403, json={"detail": "Not authenticated"}), AuthError)
    assert plain.detail == "the API key was refused"
    assert worded.detail == "the API key was refused (Not authenticated)"


def test_a_plain_text_body_is_used_on_one_line_and_clipped() -> None:
    error = _assign_fails(httpx.Response(400, text="bad\n\n  number " + "x" * 500))
    assert error.detail.startswith("bad number xxx")
    assert len(error.detail) <= 200
    assert "\n" not in error.detail


def test_a_human_label_names_the_operation() -> None:
    h = Harness()
    route(h, "POST", "/inbound/assign").respond(409)

    def op(c: Any) -> Any:
        return c.assign(phone_number="+918044319240", assistant_id="a", label="assign +9180443")

    error = h.fails(op, ConflictError)
    assert error.operation == "assign +9180443"
    assert str(error).startswith("assign +9180443 failed (HTTP 409): ")


@pytest.mark.parametrize("name", ["list", "assign", "update", "detach", "delete"])
def test_success_false_in_a_2xx_answer_is_an_error_not_an_unknown(name: str) -> None:
    h = Harness()
    h.router.route().respond(200, json={"success": False, "message": "Assistant is inactive"})
    op = list_op if name == "list" else next(w[3] for w in WRITES if w[0] == name)
    error = h.fails(op, ApiError)
    assert not isinstance(error, (OutcomeUnknown, ResponseFormatError))
    assert (error.status, error.detail) == (200, "Assistant is inactive")
    assert h.calls == 1


@pytest.mark.parametrize("name", ["list", "assign", "update", "detach", "delete"])
def test_success_false_wins_over_data_that_matches_the_contract(name: str) -> None:
    h = Harness()
    body = {**OK_BODIES[name], "success": False, "message": "Assistant is inactive"}
    h.router.route().respond(200, json=body)
    op = list_op if name == "list" else next(w[3] for w in WRITES if w[0] == name)
    assert h.fails(op, ApiError).detail == "Assistant is inactive"


def test_success_false_without_a_message_says_so() -> None:
    error = _assign_fails(httpx.Response(200, json={"success": False}))
    assert error.detail == "the server reported failure without a message"


# Each malformed 2xx answer, and the words its message must contain.
MALFORMED: list[tuple[str, Any, str]] = [
    ("truncated JSON", LIST_RESPONSE[:-20], "not valid JSON"),
    ("empty body", b"", "not valid JSON"),
    ("not UTF-8", b"\xff\xfe\xfa", "not valid JSON"),
    ("a list at the top", [], "a list where an object belongs"),
    ("a string at the top", '"ok"', "a JSON str where an object belongs"),
    ("no data", {"success": True}, "data: Field required"),
    ("data null", {"success": True, "data": None}, "data: Input should be a valid array"),
    (
        "success a string",
        {"success": "yes", "data": []},
        "success: Input should be a valid boolean",
    ),
]


@pytest.mark.parametrize(
    ("body", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_read_answer_names_the_request(body: Any, words: str) -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(return_value=_response(body))
    error = h.fails(list_op, ResponseFormatError)
    assert words in error.detail
    assert str(error).startswith("GET /inbound/list failed (HTTP 200): the answer was ")
    assert h.calls == 1


def _response(body: Any) -> httpx.Response:
    """Text and bytes are sent as they are; anything else as JSON."""
    if isinstance(body, str):
        return httpx.Response(200, content=body.encode())
    if isinstance(body, bytes):
        return httpx.Response(200, content=body)
    return httpx.Response(200, json=body)


def _list_with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = load(LIST_RESPONSE)
    body["data"][0].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (_list_with(inbound_id=None), "data[0].inbound_id: Input should be a valid string"),
        (_list_with(phone_number_normalized=918044319240), "data[0].phone_number_normalized"),
        ({"success": True, "data": load(LIST_RESPONSE)["data"][0]}, "data: Input should be"),
        ({"success": True, "data": [[]]}, "data[0]"),
    ],
    ids=["null id", "number as int", "object where a list belongs", "list in a list"],
)
def test_wrong_types_in_a_list_answer_are_format_errors(body: Any, words: str) -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json=body)
    assert words in h.fails(list_op, ResponseFormatError).detail


def test_a_label_does_not_hide_the_request_of_a_malformed_answer() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(text="{")
    error = h.fails(lambda c: c.list(label="read the account"), ResponseFormatError)
    assert str(error).startswith("read the account failed (HTTP 200): the answer to GET /inb")


def test_format_errors_do_not_echo_the_offending_values() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json=_list_with(assistant_id=["SENTINEL-VALUE"]))
    assert "SENTINEL-VALUE" not in str(h.fails(list_op, ResponseFormatError))


@pytest.mark.parametrize("hint", PAGE_HINTS)
def test_a_paginated_list_is_refused_rather_than_taken_as_the_whole(hint: str) -> None:
    h = Harness()
    body = {**load(LIST_RESPONSE), hint: "page-2" if hint != "has_more" else True}
    route(h, "GET", "/inbound/list").respond(json=body)
    assert "paginated" in h.fails(list_op, ResponseFormatError).detail


@pytest.mark.parametrize("empty", [None, False, "", 0, [], {}])
def test_an_empty_pagination_hint_is_not_pagination(empty: object) -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json={**load(LIST_RESPONSE), "has_more": empty})
    assert len(h.run(list_op)) == 1


@pytest.mark.parametrize("name", ["list", "assign", "update", "detach", "delete"])
def test_an_answer_that_matches_the_contract_is_read_in_one_pass(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The step-by-step checks (and their second parse of the body) are for unusual answers.
    def second_parse(_: object) -> object:
        raise AssertionError("the body was parsed twice")

    monkeypatch.setattr(client_module, "parse_json", second_parse)
    h = Harness()
    h.router.route().respond(200, json=OK_BODIES[name])
    op = list_op if name == "list" else next(w[3] for w in WRITES if w[0] == name)
    h.run(op)
    assert h.calls == 1


def test_pagination_hints_in_a_write_answer_are_ignored() -> None:
    h = Harness()
    body = {**OK_BODIES["update"], "next": "page-2", "has_more": True}
    h.router.route().respond(200, json=body)
    assert h.run(next(w[3] for w in WRITES if w[0] == "update")).assistant_id == "a-2"


def test_a_null_next_page_is_not_pagination() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json={**load(LIST_RESPONSE), "next": None})
    assert len(h.run(list_op)) == 1


WRITE_MALFORMED = [
    ("truncated JSON", ASSIGN_RESPONSE[:40]),
    ("empty body", b""),
    ("a list at the top", []),
    ("no data", {"success": True}),
    ("data is a list", {"success": True, "data": [{"inbound_id": "m-1"}]}),
    ("id missing", {"success": True, "data": {"assistant_id": None}}),
    ("id wrong type", {"success": True, "data": {"inbound_id": 7}}),
]


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize(
    "body", [m[1] for m in WRITE_MALFORMED], ids=[m[0] for m in WRITE_MALFORMED]
)
def test_a_malformed_write_answer_leaves_the_outcome_unknown(
    name: str, method: str, path: str, op: Op, body: Any
) -> None:
    h = Harness()
    route(h, method, path).mock(return_value=_response(body))
    error = h.fails(op, OutcomeUnknown)
    assert error.status == 200
    assert str(error).startswith(f"{method} {path} may or may not have been applied (HTTP 200):")
    assert h.calls == 1


def test_the_write_bodies_used_in_tests_are_accepted() -> None:
    for name, method, path, op in WRITES:
        h = Harness()
        route(h, method, path).respond(json=OK_BODIES[name])
        assert h.run(op) is not None
