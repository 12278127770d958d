"""The five operations on the wire: paths, methods, bodies, headers, and what comes back."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from api_payloads import (
    ASSIGN_REQUEST_WITH_STRATEGY,
    ASSIGN_REQUEST_WITHOUT_STRATEGY,
    ASSIGN_RESPONSE,
    ASSISTANT_ID,
    DELETE_RESPONSE,
    DETACH_RESPONSE,
    INBOUND_ID,
    LIST_RESPONSE,
    NEW_ASSISTANT_ID,
    NUMBER,
    STRATEGY_ID,
    UPDATE_REQUEST_ASSISTANT_ONLY,
    UPDATE_REQUEST_CLEAR_STRATEGY,
    UPDATE_REQUEST_STRATEGY_ONLY,
    UPDATE_RESPONSE,
    load,
)
from api_support import BASE, KEY, Harness, route
from inbound_sync.api import (
    ApiKey,
    ConnectionSettings,
    DeleteResult,
    DetachResult,
    InboundClient,
    RemoteMapping,
    RetryPolicy,
    Timeouts,
    UpdateResult,
)
from inbound_sync.api.client import _tls_context
from inbound_sync.errors import ApiError

MAPPING = TypeAdapter(RemoteMapping)


def listed(data: object) -> RemoteMapping:
    """A mapping as the client reads one off the wire (strict JSON validation)."""
    return MAPPING.validate_json(json.dumps(data))


def _sent(h: Harness, index: int = -1) -> httpx.Request:
    request: httpx.Request = h.router.calls[index].request
    return request


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _with_type(example: str) -> Any:
    # The client also sends inbound_config.type, which the document says must match service.
    body = load(example)
    body["inbound_config"] = {"type": "exotel", **body["inbound_config"]}
    return body


def test_list_returns_the_documented_mapping_as_a_tuple() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(text=LIST_RESPONSE)
    mappings = h.run(lambda c: c.list())
    assert isinstance(mappings, tuple)
    assert mappings == (listed(load(LIST_RESPONSE)["data"][0]),)


def test_every_request_carries_the_bearer_key_and_asks_for_json() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(text=LIST_RESPONSE)
    h.run(lambda c: c.list())
    assert _sent(h).headers["authorization"] == f"Bearer {KEY}"
    assert _sent(h).headers["accept"] == "application/json"
    assert str(_sent(h).url) == f"{BASE}/inbound/list"


def test_assign_without_strategy_sends_the_documented_body() -> None:
    h = Harness()
    route(h, "POST", "/inbound/assign").respond(text=ASSIGN_RESPONSE)
    result = h.run(lambda c: c.assign(phone_number=NUMBER, assistant_id=ASSISTANT_ID))
    assert _body(_sent(h)) == _with_type(ASSIGN_REQUEST_WITHOUT_STRATEGY)
    assert "inbound_context_strategy_id" not in _body(_sent(h))
    assert result == listed(load(ASSIGN_RESPONSE)["data"])


def test_assign_with_strategy_sends_the_documented_body() -> None:
    h = Harness()
    route(h, "POST", "/inbound/assign").respond(text=ASSIGN_RESPONSE)
    h.run(
        lambda c: c.assign(
            phone_number=NUMBER, assistant_id=ASSISTANT_ID, inbound_context_strategy_id=STRATEGY_ID
        )
    )
    assert _body(_sent(h)) == _with_type(ASSIGN_REQUEST_WITH_STRATEGY)


@pytest.mark.parametrize(
    ("fields", "example"),
    [
        ({"assistant_id": NEW_ASSISTANT_ID}, UPDATE_REQUEST_ASSISTANT_ONLY),
        ({"inbound_context_strategy_id": STRATEGY_ID}, UPDATE_REQUEST_STRATEGY_ONLY),
        ({"inbound_context_strategy_id": None}, UPDATE_REQUEST_CLEAR_STRATEGY),
    ],
)
def test_update_patches_only_the_fields_given(fields: dict[str, Any], example: str) -> None:
    h = Harness()
    route(h, "PATCH", f"/inbound/update/{INBOUND_ID}").respond(text=UPDATE_RESPONSE)
    result = h.run(lambda c: c.update(INBOUND_ID, **fields))
    assert _sent(h).content.decode() == json.dumps(load(example), separators=(",", ":"))
    assert result == UpdateResult.model_validate(load(UPDATE_RESPONSE)["data"])


def test_update_can_clear_both_fields_with_nulls() -> None:
    h = Harness()
    route(h, "PATCH", f"/inbound/update/{INBOUND_ID}").respond(text=UPDATE_RESPONSE)
    h.run(lambda c: c.update(INBOUND_ID, assistant_id=None, inbound_context_strategy_id=None))
    assert _body(_sent(h)) == {"assistant_id": None, "inbound_context_strategy_id": None}


def test_update_without_any_field_is_refused_before_sending() -> None:
    h = Harness()
    with pytest.raises(ValueError, match="at least one field"):
        h.run(lambda c: c.update(INBOUND_ID))
    assert h.calls == 0


def test_detach_posts_without_a_body() -> None:
    h = Harness()
    route(h, "POST", f"/inbound/detach/{INBOUND_ID}").respond(text=DETACH_RESPONSE)
    result = h.run(lambda c: c.detach(INBOUND_ID))
    assert _sent(h).content == b""
    assert result == DetachResult(inbound_id=INBOUND_ID)


def test_delete_uses_the_delete_method() -> None:
    h = Harness()
    route(h, "DELETE", f"/inbound/delete/{INBOUND_ID}").respond(text=DELETE_RESPONSE)
    assert h.run(lambda c: c.delete(INBOUND_ID)) == DeleteResult(inbound_id=INBOUND_ID)


def test_an_id_cannot_escape_its_path_segment() -> None:
    h = Harness()
    h.router.route(method="DELETE").respond(text=DELETE_RESPONSE)
    h.run(lambda c: c.delete("a/../list?x"))
    assert _sent(h).url.raw_path == b"/inbound/delete/a%2F..%2Flist%3Fx"


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_unusable_ids_are_refused(bad: str) -> None:
    h = Harness()
    with pytest.raises(ValueError, match="inbound_id"):
        h.run(lambda c: c.detach(bad))
    assert h.calls == 0


def test_a_base_url_with_a_path_prefix_keeps_it() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, text=LIST_RESPONSE)

    async def go() -> None:
        transport = httpx.MockTransport(handler)
        async with InboundClient("https://gw.test/api/", ApiKey(KEY), transport=transport) as c:
            await c.list()

    asyncio.run(go())
    assert seen == ["https://gw.test/api/inbound/list"]


def test_default_timeouts_are_5s_connect_and_30s_read() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(text=LIST_RESPONSE)
    h.run(lambda c: c.list())
    timeout = _sent(h).extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (5.0, 30.0)


def test_timeouts_are_configurable() -> None:
    h = Harness(timeouts=Timeouts(connect=1.5, read=7.0))
    route(h, "GET", "/inbound/list").respond(text=LIST_RESPONSE)
    h.run(lambda c: c.list())
    timeout = _sent(h).extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (1.5, 7.0)


class _ClosingTransport(httpx.MockTransport):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


def test_the_client_closes_the_http_client_it_created() -> None:
    transport = _ClosingTransport(lambda r: httpx.Response(200, text=LIST_RESPONSE))

    async def go() -> None:
        async with InboundClient(BASE, ApiKey(KEY), transport=transport) as c:
            await c.list()

    asyncio.run(go())
    assert transport.closed


def test_an_injected_http_client_is_used_and_left_open() -> None:
    transport = _ClosingTransport(lambda r: httpx.Response(200, text=LIST_RESPONSE))

    async def go() -> bool:
        async with httpx.AsyncClient(transport=transport) as http:
            async with InboundClient(BASE, ApiKey(KEY), http=http) as c:
                await c.list()
            return http.is_closed

    assert asyncio.run(go()) is False
    assert transport.closed  # closed by its owner's `async with`, not by InboundClient


def test_an_injected_http_client_still_sends_the_key_headers_and_timeouts() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=LIST_RESPONSE)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            timeouts = Timeouts(connect=1.5, read=7.0)
            async with InboundClient(BASE, ApiKey(KEY), http=http, timeouts=timeouts) as c:
                await c.list()

    asyncio.run(go())
    (sent,) = seen
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert (sent.headers["accept"], sent.headers["accept-encoding"]) == (
        "application/json",
        "gzip, deflate",
    )
    assert sent.headers["user-agent"].startswith("inbound-sync/")
    timeout = sent.extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (1.5, 7.0)


def test_the_clients_of_a_run_load_the_ca_bundle_once_and_verify_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Loading the CA bundle costs tens of milliseconds; apply opens a client per phase and a
    # fleet one per target.
    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    _tls_context.cache_clear()
    try:
        clients = [InboundClient(BASE, ApiKey(KEY)) for _ in range(3)]
        for client in clients:
            asyncio.run(client.aclose())
    finally:
        _tls_context.cache_clear()
    assert len(made) == 1
    assert (made[0].verify_mode, made[0].check_hostname) == (ssl.CERT_REQUIRED, True)


def test_an_asgi_app_plugs_in_as_a_transport() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["path"] == "/inbound/list"
        body = LIST_RESPONSE.encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def go() -> tuple[RemoteMapping, ...]:
        transport = httpx.ASGITransport(app=app)
        async with InboundClient("http://sandbox", ApiKey(KEY), transport=transport) as c:
            return await c.list()

    assert asyncio.run(go())[0].inbound_id == INBOUND_ID


def test_a_client_is_built_from_settings() -> None:
    settings = ConnectionSettings(base_url=BASE, api_key=ApiKey(KEY), retry=RetryPolicy(attempts=1))
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    async def go() -> None:
        transport = httpx.MockTransport(handler)
        async with InboundClient.from_settings(settings, transport=transport) as c:
            await c.list()

    with pytest.raises(ApiError):
        asyncio.run(go())
    assert len(calls) == 1  # the settings' retry policy, not the default 5 attempts
    assert calls[0].headers["authorization"] == f"Bearer {KEY}"


def test_http_and_transport_together_are_refused() -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as http:
            InboundClient(BASE, ApiKey(KEY), http=http, transport=httpx.MockTransport(print))

    with pytest.raises(ValueError, match="not both"):
        asyncio.run(go())


def test_a_policy_without_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        InboundClient(BASE, ApiKey(KEY), retry=RetryPolicy(attempts=0))


def test_redirects_are_not_followed() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(302, headers={"location": "https://elsewhere.test/"})
    error = h.fails(lambda c: c.list(), ApiError)
    assert error.status == 302
    assert "redirected to https://elsewhere.test/" in str(error)
    assert h.calls == 1


@pytest.mark.parametrize("installed", [False, True])
def test_a_missing_sniffio_fails_its_import_at_once(
    monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    # httpcore imports sniffio on every request; a missing one is marked absent so that each
    # request does not pay a failing search of sys.path. An installed one is left alone.
    import importlib.util
    import sys

    from inbound_sync.api import client

    monkeypatch.delitem(sys.modules, "sniffio", raising=False)
    spec = importlib.machinery.ModuleSpec("sniffio", None) if installed else None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    client._spare_failed_imports()
    assert ("sniffio" in sys.modules) is not installed
    if not installed:
        with pytest.raises(ImportError):
            import sniffio  # noqa: F401
