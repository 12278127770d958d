"""The request hook: one record per HTTP attempt, tagged per change; and the verbose log line."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest

from api_support import OK_BODIES, Harness, list_op, route
from inbound_sync.api import (
    ConnectionSettings,
    InboundClient,
    RequestRecord,
    format_record,
    request_tag,
    verbose_logger,
)
from inbound_sync.cli.common import Connection, open_client
from inbound_sync.errors import ApiError, OutcomeUnknown

OK_LIST = httpx.Response(200, json=OK_BODIES["list"])


def _record(**changes: object) -> RequestRecord:
    base = RequestRecord(
        time="2026-03-18T11:30:00.000Z",
        method="PATCH",
        path="/inbound/update/9c2a",
        status=200,
        attempt=1,
        duration_s=0.0123,
        outcome="ok",
        error=None,
        tag={},
    )
    return base._replace(**changes)


def test_each_attempt_is_recorded_with_its_outcome() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(side_effect=[httpx.Response(503), OK_LIST])
    h.run(list_op)
    first, second = h.records
    assert (first.outcome, first.status, first.attempt, first.error) == (
        "retry",
        503,
        1,
        "HTTP 503",
    )
    assert (second.outcome, second.status, second.attempt, second.error) == ("ok", 200, 2, None)
    assert {r.method for r in h.records} == {"GET"}
    assert {r.path for r in h.records} == {"/inbound/list"}


def test_records_carry_utc_iso_times_from_the_clock_and_durations() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(side_effect=[httpx.Response(500), OK_LIST])
    h.run(list_op)
    # The fake sleep moved the clock by the 0.5 s wait between the two attempts.
    assert [r.time for r in h.records] == ["2026-03-18T11:30:00.000Z", "2026-03-18T11:30:00.500Z"]
    assert all(0.0 <= r.duration_s < 5.0 for r in h.records)


def test_a_failure_without_a_response_has_no_status() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(side_effect=[httpx.ConnectError("refused"), OK_LIST])
    h.run(list_op)
    assert (h.records[0].status, h.records[0].error) == (None, "ConnectError: refused")


def test_a_write_of_unknown_outcome_is_recorded_as_unknown() -> None:
    h = Harness()
    route(h, "POST", "/inbound/detach/m-1").respond(502)
    h.fails(lambda c: c.detach("m-1"), OutcomeUnknown)
    assert [(r.outcome, r.status, r.error) for r in h.records] == [("unknown", 502, "server error")]


def test_a_refusal_is_recorded_as_an_error_with_the_servers_word() -> None:
    h = Harness()
    route(h, "POST", "/inbound/assign").respond(404, json={"message": "Assistant not found"})
    h.fails(lambda c: c.assign(phone_number="+91", assistant_id="x"), ApiError)
    assert [(r.outcome, r.error) for r in h.records] == [("error", "Assistant not found")]


def test_a_malformed_answer_is_recorded_as_an_error() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(text="{")
    h.fails(list_op, ApiError)
    assert h.records[0].outcome == "error"
    assert "not valid JSON" in (h.records[0].error or "")


def test_without_a_tag_the_record_tag_is_empty() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(return_value=OK_LIST)
    h.run(list_op)
    assert dict(h.records[0].tag) == {}


def test_concurrent_changes_are_told_apart_by_their_tags() -> None:
    h = Harness()
    h.router.route(method="POST").respond(json=OK_BODIES["detach"])

    async def change(client: InboundClient, inbound_id: str) -> None:
        request_tag.set({"action": "detach", "inbound_id": inbound_id})
        await asyncio.sleep(0)  # interleave the two changes
        await client.detach(inbound_id)

    async def go(client: InboundClient) -> None:
        await asyncio.gather(change(client, "m-1"), change(client, "m-2"))

    h.run(go)
    assert sorted((r.path, dict(r.tag)) for r in h.records) == [
        ("/inbound/detach/m-1", {"action": "detach", "inbound_id": "m-1"}),
        ("/inbound/detach/m-2", {"action": "detach", "inbound_id": "m-2"}),
    ]


def test_the_tag_in_a_record_does_not_change_afterwards() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").mock(return_value=OK_LIST)
    tag = {"action": "list"}

    async def go(client: InboundClient) -> None:
        request_tag.set(tag)
        await client.list()
        tag["action"] = "changed"

    h.run(go)
    assert dict(h.records[0].tag) == {"action": "list"}
    with pytest.raises(TypeError):
        h.records[0].tag["action"] = "x"  # type: ignore[index]


def test_the_log_line_names_method_path_status_duration_and_attempt() -> None:
    assert format_record(_record()) == "PATCH /inbound/update/9c2a -> 200 in 0.012s (attempt 1)"


def test_the_log_line_of_a_retry_says_why() -> None:
    line = format_record(_record(status=503, attempt=2, outcome="retry", error="HTTP 503"))
    assert line == "PATCH /inbound/update/9c2a -> 503 in 0.012s (attempt 2); retry: HTTP 503"


def test_the_log_line_of_a_failure_without_response_and_with_tags() -> None:
    record = _record(
        status=None, outcome="unknown", error="ReadTimeout", tag={"action": "update", "n": "+91"}
    )
    assert format_record(record) == (
        "PATCH /inbound/update/9c2a -> no response in 0.012s (attempt 1); unknown: ReadTimeout"
        " [action=update n=+91]"
    )


def test_verbose_logger_writes_one_line_per_attempt() -> None:
    stream = io.StringIO()
    h = Harness(on_request=verbose_logger(stream))
    route(h, "GET", "/inbound/list").mock(side_effect=[httpx.Response(500), OK_LIST])
    h.run(list_op)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("GET /inbound/list -> 500 in ")
    assert lines[0].endswith("s (attempt 1); retry: HTTP 500")
    assert lines[1].endswith("s (attempt 2)")


def _opened(verbose: bool, **options: object) -> InboundClient:
    settings = ConnectionSettings.from_sources(
        api_url="https://api.example.test",
        api_key_file=None,
        allow_insecure_http=False,
        environ={"INBOUND_SYNC_API_KEY": "k"},
    )
    conn = Connection(api_url=None, api_key_file=None, allow_insecure_http=False, verbose=verbose)
    answer = httpx.MockTransport(lambda request: OK_LIST)
    return open_client(conn, settings, transport=answer, **options)


def _records_built(monkeypatch: pytest.MonkeyPatch, client: InboundClient) -> list[object]:
    built: list[object] = []

    def counting(*args: object, **fields: object) -> RequestRecord:
        built.append(fields)
        return RequestRecord(*args, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr("inbound_sync.api.client.RequestRecord", counting)

    async def go() -> None:
        async with client:
            await client.list()

    asyncio.run(go())
    return built


def test_a_command_nobody_listens_to_builds_no_record_of_its_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without --verbose or an audit log, a bulk apply spends nothing on records of each request.
    assert _records_built(monkeypatch, _opened(verbose=False)) == []


def test_verbose_or_a_log_still_gets_a_record_of_every_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(_records_built(monkeypatch, _opened(verbose=True))) == 1
    assert capsys.readouterr().err.startswith("GET /inbound/list -> 200 in ")
    logged: list[RequestRecord] = []
    assert len(_records_built(monkeypatch, _opened(False, on_request=logged.append))) == 1
    assert [r.status for r in logged] == [200]
