"""Fuzzing what the API answers: the client, the commands and the executor never crash on it.

- The client, for each of the five operations and any status and body: it returns the typed
  answer or raises an ApiError naming the request; a write is OutcomeUnknown exactly when the
  server may have acted (a 5xx, or a 2xx it cannot read), never when the server said it did not.
- Every command that reads the account, given a list answer that breaks the contract (truncated
  JSON, wrong types, missing fields, a list where an object belongs, "success": false, ...):
  exit 1, an "Error:" naming the request, no traceback, and no write.
- The executor, when every write is applied but answered with such a body: each change is
  confirmed by re-reading the account, and none is sent twice.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from api_payloads import (
    ASSIGN_RESPONSE,
    DELETE_RESPONSE,
    DETACH_RESPONSE,
    LIST_RESPONSE,
    UPDATE_RESPONSE,
    load,
)
from e2e_support import client_for, plan_and_apply
from inbound_sync.api import (
    ApiKey,
    DeleteResult,
    DetachResult,
    InboundClient,
    RemoteMapping,
    RetryPolicy,
    UpdateResult,
)
from inbound_sync.errors import ApiError, OutcomeUnknown
from planning import A1, A2, S1, state, want
from reliability_support import ACME_KEY, fuzz, run_main, show
from sandbox_fixtures import controller, sandbox_app

ROW: dict[str, Any] = load(LIST_RESPONSE)["data"][0]
REQUIRED = ("inbound_id", "phone_number_normalized")
NULLABLE_TEXT = (
    "phone_number",
    "assistant_id",
    "assistant_name",
    "inbound_context_strategy_id",
    "inbound_context_strategy_name",
    "service",
    "created_at",
    "updated_at",
)
HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
not_text = json_values.filter(lambda v: not isinstance(v, str) and v is not None)
not_list = json_values.filter(lambda v: not isinstance(v, list))
not_object = json_values.filter(lambda v: not isinstance(v, dict))


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


@st.composite
def broken_rows(draw: st.DrawFn) -> dict[str, Any]:
    """A listed mapping that breaks the contract in one place."""
    row = dict(ROW)
    how = draw(st.sampled_from(["missing", "wrong type", "empty id", "dot id", "config"]))
    if how == "missing":
        del row[draw(st.sampled_from(REQUIRED))]
    elif how == "wrong type":
        field = draw(st.sampled_from(REQUIRED + NULLABLE_TEXT))
        row[field] = draw(not_text | st.just(None)) if field in REQUIRED else draw(not_text)
    elif how == "empty id":
        row[draw(st.sampled_from(REQUIRED))] = ""
    elif how == "dot id":
        row["inbound_id"] = draw(st.sampled_from([".", ".."]))
    else:  # a list (or a number, ...) where an object belongs
        row["inbound_config"] = draw(not_object.filter(lambda v: v is not None))
    return row


@st.composite
def malformed_list_bodies(draw: st.DrawFn) -> bytes:
    """A 2xx body of GET /inbound/list that the client must refuse."""
    kind = draw(
        st.sampled_from(
            [
                "truncated",
                "not an object",
                "success false",
                "success not a boolean",
                "data not a list",
                "data missing",
                "row not an object",
                "row broken",
                "paginated",
                "html",
                "not utf-8",
                "deeply nested",
                "empty",
            ]
        )
    )
    good = {"success": True, "message": "Inbound numbers retrieved successfully", "data": [ROW]}
    if kind == "truncated":
        text = json.dumps(good)
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    if kind == "not an object":
        return dumps(draw(not_object))
    if kind == "success false":
        return dumps(
            {"success": False, **draw(st.fixed_dictionaries({}, optional={"message": json_values}))}
        )
    if kind == "success not a boolean":
        return dumps(
            {
                **good,
                "success": draw(not_text.filter(lambda v: not isinstance(v, bool)) | st.text()),
            }
        )
    if kind == "data not a list":
        return dumps({**good, "data": draw(not_list)})
    if kind == "data missing":
        return dumps({"success": True, "message": "Inbound numbers retrieved successfully"})
    if kind == "row not an object":
        return dumps({**good, "data": [ROW, draw(not_object)]})
    if kind == "row broken":
        return dumps({**good, "data": [ROW, draw(broken_rows())]})
    if kind == "paginated":
        hint = draw(
            st.sampled_from(["has_more", "next", "next_cursor", "next_page", "next_page_token"])
        )
        return dumps({**good, hint: draw(st.sampled_from([True, "abc", 2]))})
    if kind == "html":
        return HTML
    if kind == "not utf-8":
        return b"\xff" + draw(st.binary(max_size=40))
    if kind == "deeply nested":
        depth = draw(st.integers(1_000, 200_000))
        return b"[" * depth + b"]" * draw(st.sampled_from([0, depth]))
    return b""


# -- the client ------------------------------------------------------------------------------

Op = Callable[[InboundClient], Awaitable[object]]
OPS: dict[str, tuple[Op, str, type, str]] = {
    "list": (lambda c: c.list(), "GET /inbound/list", tuple, LIST_RESPONSE),
    "assign": (
        lambda c: c.assign(phone_number="+918044319240", assistant_id=A1),
        "POST /inbound/assign",
        RemoteMapping,
        ASSIGN_RESPONSE,
    ),
    "update": (
        lambda c: c.update("id-1", assistant_id=A2),
        "PATCH /inbound/update/id-1",
        UpdateResult,
        UPDATE_RESPONSE,
    ),
    "detach": (
        lambda c: c.detach("id-1"),
        "POST /inbound/detach/id-1",
        DetachResult,
        DETACH_RESPONSE,
    ),
    "delete": (
        lambda c: c.delete("id-1"),
        "DELETE /inbound/delete/id-1",
        DeleteResult,
        DELETE_RESPONSE,
    ),
}
STATUSES = [
    200,
    200,
    200,
    201,
    204,
    301,
    400,
    401,
    403,
    404,
    409,
    418,
    422,
    429,
    500,
    502,
    503,
    504,
]


@st.composite
def any_bodies(draw: st.DrawFn, valid: str) -> bytes:
    """Anything: the valid answer, a mutation of it, a malformed list answer, random JSON or bytes."""
    kind = draw(st.sampled_from(["valid", "mutated", "malformed", "json", "bytes", "huge"]))
    if kind == "valid":
        return valid.encode()
    if kind == "mutated":
        document = load(valid)
        data = document["data"]
        if isinstance(data, dict) and data:
            field = draw(st.sampled_from(sorted(data)))
            if draw(st.booleans()):
                del data[field]
            else:
                data[field] = draw(json_values)
        else:
            document["data"] = draw(json_values)
        return dumps(document)
    if kind == "malformed":
        return draw(malformed_list_bodies())
    if kind == "json":
        return dumps(draw(json_values))
    if kind == "huge":
        document = load(valid)
        if isinstance(document["data"], dict):
            document["data"]["inbound_id"] = "9" * draw(st.integers(10_000, 1_000_000))
        return dumps(document)
    return draw(st.binary(max_size=60))


def call(op: Op, status: int, body: bytes, content_type: str) -> object:
    def answer(_request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type}
        if status == 301:
            headers["location"] = "https://elsewhere.example/inbound/list"
        return httpx.Response(status, content=body, headers=headers)

    async def go() -> object:
        client = InboundClient(
            "https://api.example.test",
            ApiKey(ACME_KEY),
            transport=httpx.MockTransport(answer),
            retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0),
            sleep=lambda _s: asyncio.sleep(0),
        )
        async with client:
            try:
                return await op(client)
            except ApiError as exc:
                return exc

    return asyncio.run(go())


@pytest.mark.parametrize("name", sorted(OPS))
def test_the_client_returns_a_typed_answer_or_a_clear_api_error(name, capsys):
    op, line, answer_type, valid = OPS[name]
    write = name != "list"
    seen = Counter[str]()

    @fuzz(250)
    @given(
        status=st.sampled_from(STATUSES),
        body=any_bodies(valid),
        content_type=st.sampled_from(["application/json", "text/html", "text/plain", ""]),
    )
    @example(status=200, body=b"[" * 100_000, content_type="application/json")
    @example(status=503, body=b"[" * 100_000, content_type="application/json")
    @example(status=400, body=b'{"message":' * 5_000, content_type="application/json")
    @example(
        status=422,
        body=dumps({"detail": [{"loc": ["body", "a\nb"], "msg": "x\ny"}]}),
        content_type="application/json",
    )
    @example(
        status=200,
        body=dumps({"success": True, "data": [{**ROW, "inbound_id": ".."}]}),
        content_type="application/json",
    )
    def check(status: int, body: bytes, content_type: str) -> None:
        result = call(op, status, body, content_type)
        seen["cases"] += 1
        if not isinstance(result, ApiError):
            assert 200 <= status < 300
            assert isinstance(result, answer_type)
            seen["answers"] += 1
            return
        seen[type(result).__name__] += 1
        message = str(result)
        assert message.startswith(line), message
        assert "\n" not in message
        assert "Traceback" not in message
        unknown = isinstance(result, OutcomeUnknown)
        if not write:
            assert not unknown
        elif status >= 500:
            assert unknown, message  # the server may have acted before failing
        elif 200 <= status < 300:
            said_no = (
                isinstance(load_or_none(body), dict) and load_or_none(body).get("success") is False
            )
            assert unknown != said_no, message
        else:
            assert not unknown, message  # 3xx/4xx: the server did not act

    check()
    show(capsys, f"API fuzz, {name}: {seen['cases']} cases", dict(sorted(seen.items())))
    assert seen["answers"] > 0
    assert seen["cases"] > seen["answers"]


def load_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


# -- the commands -----------------------------------------------------------------------------


class ScriptedApi:
    """An API server whose list answer a test sets; it counts any write it receives."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b""
        self.writes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        await request.body()
        if request.method != "GET":
            self.writes += 1
            response = Response(b"{}", status_code=500)
        else:
            response = Response(self.body, status_code=self.status, media_type="application/json")
        await response(scope, receive, send)


COMMANDS = [
    ("list",),
    ("list", "--format", "json"),
    ("plan", "{cfg}"),
    ("drift", "{cfg}", "--format", "json"),
    ("import",),
    ("apply", "{cfg}", "--auto-approve"),
]
CONFIG = f"""\
version: 1
numbers:
  - number: "+91 80 4431 9241"
    assistant: {A1}
"""


@pytest.fixture
def scripted(monkeypatch, tmp_path):
    from inbound_sync.sandbox.server import running_server

    api = ScriptedApi()
    cfg = tmp_path / "inbound.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    with running_server(api) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        yield api, str(cfg)


@pytest.mark.socket
def test_every_command_refuses_a_malformed_account_listing_with_exit_1_and_no_write(
    scripted, capsys
):
    api, cfg = scripted
    seen = Counter[str]()

    @fuzz(30)
    @given(
        status=st.sampled_from([200, 200, 200, 200, 301, 400, 401, 403, 404, 409, 418, 422]),
        body=malformed_list_bodies() | st.builds(dumps, json_values) | st.just(HTML),
    )
    @example(status=200, body=b"[" * 100_000)
    @example(status=200, body=dumps({"success": True, "data": [{**ROW, "inbound_id": ".."}]}))
    def check(status: int, body: bytes) -> None:
        if status == 200 and body not in (b"",) and not_malformed(body):
            return  # only answers that break the contract are the point here
        api.status, api.body = status, body
        for command in COMMANDS:
            argv = [part.format(cfg=cfg) for part in command]
            result = run_main(*argv)
            seen["runs"] += 1
            assert result.code == 1, (argv, result)
            assert result.err.startswith("Error: "), (argv, result.err)
            assert "Traceback" not in result.err
            assert "GET /inbound/list" in result.err or "list the account" in result.err, result.err
        seen["cases"] += 1

    check()
    assert api.writes == 0
    show(
        capsys,
        "CLI fuzz, malformed account listings",
        {"cases": seen["cases"], "command runs": seen["runs"], "writes received": api.writes},
    )
    assert seen["cases"] >= 15


@pytest.mark.socket
@pytest.mark.parametrize("inbound_id", [".", ".."])
def test_a_listed_id_no_request_can_address_is_refused_before_any_write(scripted, inbound_id):
    api, cfg = scripted
    row = {**ROW, "inbound_id": inbound_id, "phone_number_normalized": "918044319241"}
    api.status, api.body = 200, dumps({"success": True, "data": [row]})
    result = run_main("apply", cfg, "--auto-approve")  # the plan would update that mapping
    assert result.code == 1
    assert "data[0].inbound_id: Value error, not an id a request can address" in result.err
    assert api.writes == 0


def not_malformed(body: bytes) -> bool:
    """True when the body is a valid list answer after all (a random one can be)."""
    return not isinstance(call(OPS["list"][0], 200, body, "application/json"), ApiError)


# -- the executor -------------------------------------------------------------------------------


async def _discard(_message: Message) -> None:
    """The sandbox's own answer to an applied write goes nowhere."""


class CorruptWrites:
    """Apply each write in the sandbox, then answer it with a malformed 200 body."""

    def __init__(self, app: Any, body: bytes) -> None:
        self.app = app
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] != "GET"
            and scope["path"].startswith("/inbound/")
        ):
            await self.app(scope, receive, _discard)
            await Response(self.body, media_type="application/json")(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def test_writes_answered_with_malformed_bodies_are_confirmed_by_rereading_never_resent(capsys):
    seen = Counter[str]()
    desired = state(want("918044319240", A1, S1), want("918044319241", A2))
    later = state(want("918044319240", A2), want("918044319241", None), unmanaged="delete")

    @fuzz(40)
    @given(body=malformed_list_bodies().filter(lambda b: not b.startswith(b'{"success": false')))
    def check(body: bytes) -> None:
        with sandbox_app() as app:
            for goal in (desired, later):

                async def scenario(goal=goal):
                    async with client_for(CorruptWrites(app, body)) as client:
                        return await plan_and_apply(client, goal)

                before = controller(app).stats()["writes"]
                plan, report = asyncio.run(scenario())
                assert report.ok, report
                assert {o.message.split(" (")[0] for o in report.outcomes} == {"done"}
                assert all(o.attempts == 1 for o in report.outcomes)
                assert controller(app).stats()["writes"] - before == len(plan.changes)
                seen["changes"] += len(plan.changes)
        seen["cases"] += 1

    check()
    show(capsys, "Executor fuzz, malformed answers to applied writes", dict(seen))
