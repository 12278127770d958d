"""The API key never shows: not in reprs, messages, records, logs, nor what the server echoes."""

from __future__ import annotations

import asyncio
import copy
import io
import pickle
import socket
from typing import Any

import httpx
import pytest

from api_support import KEY, WRITES, Harness, Op, list_op, route
from inbound_sync.api import (
    ApiKey,
    ConnectionSettings,
    InboundClient,
    RetryPolicy,
    verbose_logger,
)
from inbound_sync.errors import ApiError, UsageError

ECHO = f"invalid token Bearer {KEY}"


def _texts(error: BaseException) -> list[str]:
    """Everything a traceback or a log could show of an exception and its chain."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return texts


def _assert_hidden(h: Harness, error: BaseException, log: io.StringIO) -> None:
    shown = [*_texts(error), *(repr(r) for r in h.records), log.getvalue()]
    assert not [text for text in shown if KEY in text]


def _leak_check(answer: object, op: Op = list_op, attempts: int = 1) -> None:
    log = io.StringIO()
    h = Harness(retry=RetryPolicy(attempts=attempts))
    h.options["on_request"] = lambda r: (h.records.append(r), verbose_logger(log)(r))
    h.router.route().mock(side_effect=[answer] * attempts)
    error = h.fails(op, ApiError)
    _assert_hidden(h, error, log)


def test_the_key_shows_as_stars() -> None:
    key = ApiKey(KEY)
    assert repr(key) == "ApiKey('***')"
    assert str(key) == f"{key}" == format(key) == f"{key!s:>3}" == "***"
    assert key.reveal() == KEY


def test_the_key_has_no_attribute_dict_to_dump() -> None:
    with pytest.raises(TypeError):
        vars(ApiKey(KEY))


def test_the_key_cannot_be_pickled_but_copies_are_the_same_key() -> None:
    key = ApiKey(KEY)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key
    assert copy.copy(key) is key


def test_keys_compare_by_value_without_showing_it() -> None:
    assert ApiKey(KEY) == ApiKey(KEY)
    assert ApiKey(KEY) != ApiKey(KEY + "x")
    assert len({ApiKey(KEY), ApiKey(KEY)}) == 1


def test_settings_and_client_reprs_hide_the_key() -> None:
    settings = ConnectionSettings(base_url="https://api.example.test", api_key=ApiKey(KEY))
    client = InboundClient.from_settings(settings, transport=httpx.MockTransport(print))
    assert KEY not in repr(settings)
    assert KEY not in repr(client)
    assert "ApiKey('***')" in repr(settings)
    asyncio.run(client.aclose())


@pytest.mark.parametrize("bad", [f"{KEY}\n", f"{KEY} extra", f"{KEY}\u00e9"])
def test_a_key_unfit_for_a_header_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        ApiKey(bad)
    assert KEY not in str(info.value)


def test_httpx_masks_the_authorization_header_in_its_own_reprs() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json={"data": []})
    h.run(list_op)
    request = h.router.calls[0].request
    assert KEY not in repr(request)
    assert KEY not in repr(request.headers)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"detail": ECHO}),
        (403, {"success": False, "message": ECHO}),
        (400, {"detail": [{"loc": ["header", "authorization"], "msg": ECHO}]}),
        (404, {"error": {"message": ECHO}}),
        (409, ECHO),
        (502, f"<html><title>{ECHO}</title></html>"),
        (503, {"detail": ECHO}),
        (200, {"success": False, "message": ECHO}),
    ],
)
def test_an_error_body_echoing_the_key_is_redacted(status: int, body: object) -> None:
    if isinstance(body, str):
        answer = httpx.Response(status, text=body)
    else:
        answer = httpx.Response(status, json=body)
    _leak_check(answer)
    for _name, _method, _path, op in WRITES:
        _leak_check(answer, op)


def test_a_redirect_to_a_url_holding_the_key_is_redacted() -> None:
    _leak_check(httpx.Response(307, headers={"location": f"https://x.test/?t={KEY}"}))


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ProxyError],
)
def test_a_transport_failure_quoting_the_key_is_redacted(exc: type[httpx.HTTPError]) -> None:
    _leak_check(exc(f"failed sending Authorization: Bearer {KEY}"), attempts=3)
    for _name, _method, _path, op in WRITES:
        _leak_check(exc(f"failed sending Authorization: Bearer {KEY}"), op, attempts=3)


def test_a_malformed_answer_holding_the_key_is_not_echoed() -> None:
    _leak_check(httpx.Response(200, json={"success": True, "data": [{"inbound_id": KEY}]}))
    _leak_check(httpx.Response(200, text=f"{{ {KEY}"), WRITES[0][3])


def test_a_successful_run_logs_nothing_of_the_key() -> None:
    log = io.StringIO()
    h = Harness(on_request=verbose_logger(log))
    route(h, "GET", "/inbound/list").respond(json={"data": []})
    h.run(list_op)
    assert log.getvalue()
    assert KEY not in log.getvalue()


def test_a_real_connection_failure_does_not_show_the_key() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed now: a real ConnectError from the real transport.
    errors: list[Any] = []

    async def go() -> None:
        async with InboundClient(
            f"http://127.0.0.1:{port}", ApiKey(KEY), retry=RetryPolicy(attempts=1)
        ) as client:
            try:
                await client.assign(phone_number="+91", assistant_id="a")
            except ApiError as exc:
                errors.append(exc)

    asyncio.run(go())
    assert errors
    assert "ConnectError" in str(errors[0])
    assert not [t for t in _texts(errors[0]) if KEY in t]
