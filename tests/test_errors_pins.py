"""Error messages built from answers and failures, pinned word for word where a user reads them."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from inbound_sync.api.errors import (
    describe_exception,
    error_for_status,
    format_validation,
    message_from_json,
    parse_json,
    refused_error,
    server_message,
    transport_error,
    wait_refused,
)
from inbound_sync.errors import (
    ApiError,
    BadRequestError,
    ConnectionFailed,
    OutcomeUnknown,
    RateLimited,
    ServerError,
)

OPERATION = "POST /inbound/assign"
KEY = "sk-CANARY-7c1e9f0b4d2a-DO-NOT-LEAK"


def hide(text: str) -> str:
    return text.replace(KEY, "[key]")


def failed(
    response: httpx.Response, *, write: bool = True, attempts: int = 1, redact=hide
) -> ApiError:
    return error_for_status(
        response, operation=OPERATION, write=write, attempts=attempts, redact=redact
    )


# Server errors and redirects


def test_a_5xx_to_a_write_leaves_the_outcome_unknown_with_a_default_message():
    error = failed(httpx.Response(500), attempts=3)
    assert type(error) is OutcomeUnknown
    assert (error.detail, error.status, error.operation) == ("server error", 500, OPERATION)


def test_a_5xx_to_a_read_says_how_many_attempts_were_made():
    assert failed(httpx.Response(500), write=False, attempts=3).detail == (
        "server error (after 3 attempts)"
    )
    single = failed(httpx.Response(502, text="upstream down"), write=False, attempts=1)
    assert type(single) is ServerError
    assert single.detail == "upstream down"


@pytest.mark.parametrize("status", [300, 301, 399])
def test_a_redirect_is_not_followed_and_names_where_it_pointed(status):
    error = failed(httpx.Response(status, headers={"location": "https://elsewhere.test/x"}))
    assert type(error) is ApiError
    assert error.detail == ("the server redirected to https://elsewhere.test/x; check the API URL")


def test_a_redirect_without_a_location_says_elsewhere():
    assert failed(httpx.Response(302)).detail == (
        "the server redirected to elsewhere; check the API URL"
    )


def test_an_unknown_status_without_a_reason_phrase_is_unexpected():
    assert failed(httpx.Response(499)).detail == "unexpected status"
    assert failed(httpx.Response(418)).detail == "I'm a teapot"


# 429


def test_a_429_keeps_its_own_message_and_says_a_write_was_not_applied():
    body = {"message": "Slow down: 10 writes per second"}
    error = failed(httpx.Response(429, json=body), attempts=5)
    assert type(error) is RateLimited
    assert error.detail == (
        "Slow down: 10 writes per second (after 5 attempts); the change was not applied"
    )


def test_a_429_to_a_read_has_no_write_suffix_and_a_default_message():
    assert failed(httpx.Response(429), write=False, attempts=1).detail == "rate limited"
    assert failed(httpx.Response(429), write=False, attempts=2).detail == (
        "rate limited (after 2 attempts)"
    )


# Bodies


def test_the_key_is_redacted_before_the_message_is_clipped():
    # Clipped first, the key would be cut in half and its first half would escape redaction.
    text = "x" * 180 + " " + KEY
    for response in (httpx.Response(400, text=text), httpx.Response(400, json={"message": text})):
        detail = failed(response).detail
        assert KEY[:10] not in detail
        assert detail.endswith("[key]")


def test_a_key_hidden_by_json_escapes_is_redacted_once_decoded_and_before_clipping():
    escaped = KEY.replace("-", "\\u002d")
    raw = '{"message": "' + "x" * 180 + " " + escaped + '"}'
    assert KEY not in raw
    detail = failed(httpx.Response(400, content=raw.encode())).detail
    assert KEY[:10] not in detail
    assert detail == "x" * 180 + " [key]"


def test_a_body_that_cannot_be_decoded_counts_as_no_body():
    # httpx falls back from an unknown charset in the headers; an encoding set on the response
    # itself is used as is.
    response = httpx.Response(400, content=b"\xff\xfe")
    response.encoding = "no-such-codec"
    error = failed(response)
    assert type(error) is BadRequestError
    assert error.detail == "the request was rejected as invalid"


def test_text_of_exactly_the_limit_is_kept_and_one_more_character_is_clipped():
    assert server_message(httpx.Response(400, text="y" * 200)) == "y" * 200
    clipped = server_message(httpx.Response(400, text="y" * 201))
    assert clipped == "y" * 199 + "…"


HTML_SUFFIX = " (a proxy or gateway answered, or the API URL is wrong)"


def test_html_is_detected_by_its_content_type_whatever_the_body_starts_with():
    response = httpx.Response(
        502,
        text="Bad gateway <title>Gateway</title>",
        headers={"content-type": "Text/HTML; charset=utf-8"},
    )
    assert server_message(response) == (
        "the server answered with an HTML page titled 'Gateway', not the API's JSON" + HTML_SUFFIX
    )


def test_html_without_a_content_type_is_detected_after_leading_whitespace():
    response = httpx.Response(502, content=b"\n   <html><body>down</body></html>")
    assert server_message(response) == (
        "the server answered with an HTML page, not the API's JSON" + HTML_SUFFIX
    )


def test_plain_text_without_a_content_type_is_not_html():
    assert server_message(httpx.Response(400, content=b"no html here")) == "no html here"


# JSON bodies


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "quota exceeded"}, "quota exceeded"),
        ({"msg": "short form"}, "short form"),
        ({"message": "", "error": "fallback"}, "fallback"),
        ({"error": {"error": {"error": {"message": "deep"}}}}, "deep"),
        ({"error": {"error": {"error": {"error": {"message": "too deep"}}}}}, None),
    ],
)
def test_the_message_is_found_in_every_documented_key_down_to_a_depth(body, expected):
    assert message_from_json(body) == expected


def test_a_nested_message_inside_a_detail_list_counts_the_list_as_a_level():
    at_limit = {"detail": [{"msg": {"error": {"error": {"message": "found"}}}}]}
    past_limit = {"detail": [{"msg": {"error": {"error": {"error": {"message": "lost"}}}}}]}
    assert message_from_json(at_limit) == "found"
    assert message_from_json(past_limit) is None


def test_a_detail_list_reads_strings_and_message_keys_and_skips_the_rest():
    body = {"detail": ["plain words", 3, {"message": "from message"}]}
    assert message_from_json(body, hide) == "plain words; from message"


def test_msg_is_preferred_to_message_in_a_detail_item():
    body = {"detail": [{"msg": "from msg", "message": "from message"}]}
    assert message_from_json(body) == "from msg"


def test_a_detail_item_with_a_location_but_no_message_is_skipped():
    body = {"detail": [{"loc": ["body", "x"]}, {"msg": "kept"}]}
    assert message_from_json(body) == "kept"


def test_a_location_that_is_not_a_list_is_left_out():
    body = {"detail": [{"loc": "body", "msg": "bad"}, {"loc": [], "msg": "worse"}]}
    assert message_from_json(body) == "bad; worse"


def test_a_location_is_dotted_and_its_whitespace_collapsed():
    body = {"detail": [{"loc": ["body", "a  b", 0], "msg": "bad"}]}
    assert message_from_json(body) == "body.a b.0: bad"


def test_a_detail_item_string_is_redacted():
    body = {"detail": [f"bad key {KEY}"]}
    assert message_from_json(body, hide) == "bad key [key]"


@pytest.mark.parametrize(
    ("count", "suffix"), [(3, "f2: bad"), (4, "f2: bad; and 1 more"), (5, "f2: bad; and 2 more")]
)
def test_a_detail_list_names_three_items_and_counts_the_rest(count, suffix):
    body = {"detail": [{"loc": [f"f{i}"], "msg": "bad"} for i in range(count)]}
    assert message_from_json(body) == "f0: bad; f1: bad; " + suffix


def test_json_nested_too_deeply_is_a_value_error_that_says_so():
    with pytest.raises(ValueError, match=r"^JSON nested too deeply$"):
        parse_json("[" * 100_000 + "]" * 100_000)


def test_a_success_false_answer_keeps_its_operation_and_redacts_before_clipping():
    text = "z" * 180 + " " + KEY
    error = refused_error({"message": text}, operation=OPERATION, status=200, redact=hide)
    assert (error.operation, error.status) == (OPERATION, 200)
    assert KEY[:10] not in error.detail
    assert error.detail.endswith("[key]")


# Validation errors of an answer


class Row(BaseModel):
    inbound_id: str
    number: int


class Page(BaseModel):
    data: list[Row]


def validation_error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Page.model_validate(data)
    return caught.value


def test_format_validation_names_nested_locations():
    error = validation_error({"data": [{"number": 1}, {"inbound_id": "b", "number": "x"}]})
    assert format_validation(error) == (
        "data[0].inbound_id: Field required; "
        "data[1].number: Input should be a valid integer, unable to parse string as an integer"
    )


def test_format_validation_names_three_errors_and_counts_the_rest():
    three = validation_error({"data": [{}, {"inbound_id": "b"}]})
    four = validation_error({"data": [{}, {}]})
    assert format_validation(three) == (
        "data[0].inbound_id: Field required; data[0].number: Field required; "
        "data[1].number: Field required"
    )
    assert format_validation(four).endswith("data[1].inbound_id: Field required; and 1 more")


def test_format_validation_of_the_whole_body_says_body():
    assert (
        format_validation(validation_error([]))
        == "body: Input should be a valid dictionary or instance of Page"
    )


def test_format_validation_does_not_echo_the_offending_value():
    error = validation_error({"data": [{"inbound_id": KEY, "number": KEY}]})
    assert KEY not in format_validation(error)


# Transport failures


def test_exception_text_is_collapsed_onto_one_line_after_the_name():
    exc = httpx.ConnectError("[Errno 111]\n   Connection   refused")
    assert describe_exception(exc) == "ConnectError: [Errno 111] Connection refused"


def test_an_exception_without_text_is_named_alone():
    assert describe_exception(httpx.ReadTimeout("")) == "ReadTimeout"


def test_exception_text_is_redacted():
    assert describe_exception(httpx.ReadError(f"peer said {KEY}"), hide) == (
        "ReadError: peer said [key]"
    )


def transport(exc: httpx.HTTPError, *, write: bool, sent: bool, attempts: int = 1) -> ApiError:
    return transport_error(
        exc, operation=OPERATION, write=write, sent=sent, attempts=attempts, redact=hide
    )


def test_a_write_that_may_have_been_sent_has_an_unknown_outcome():
    error = transport(httpx.ReadTimeout(f"timed out {KEY}"), write=True, sent=True, attempts=3)
    assert type(error) is OutcomeUnknown
    assert (error.detail, error.operation) == ("ReadTimeout: timed out [key]", OPERATION)


def test_a_write_never_sent_says_nothing_changed():
    error = transport(httpx.ConnectError("refused"), write=True, sent=False, attempts=4)
    assert type(error) is ConnectionFailed
    assert (error.detail, error.operation) == (
        "ConnectError: refused (after 4 attempts); "
        "the request never reached the server, so nothing changed",
        OPERATION,
    )


@pytest.mark.parametrize("sent", [True, False])
def test_a_failed_read_is_a_connection_failure_without_the_write_suffix(sent):
    error = transport(httpx.ReadError(""), write=False, sent=sent, attempts=1)
    assert type(error) is ConnectionFailed
    assert (error.detail, error.operation) == ("ReadError", OPERATION)


# A Retry-After longer than the tool waits


def test_a_refused_wait_shows_whole_seconds_from_100_and_clips_the_header():
    assert wait_refused("9" * 100, 100.5, 60.0, hide) == (
        f"; the server asked to wait 100 s (Retry-After: {'9' * 59}…),"
        " longer than the 60 s this tool waits"
    )


def test_a_refused_wait_shows_a_tenth_below_100_when_it_tells_close_values_apart():
    assert wait_refused(" 60.5 ", 60.5, 60.0, hide) == (
        "; the server asked to wait 60.5 s (Retry-After: 60.5), longer than the 60 s this tool waits"
    )
