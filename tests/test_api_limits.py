"""Limits on what a server can make the client read: the decoded size of an answer, and the time
of a whole attempt.

A gzip bomb, an endless chunked body or a huge plain one fails at the limit, fast and in bounded
memory, and is not retried; a server that trickles its answer one byte at a time meets the
attempt's deadline, which counts like a timeout.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_payloads import LIST_RESPONSE
from api_support import OK_BODIES, WRITES, Harness, Op, list_op, route
from inbound_sync.api import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ApiKey,
    ConnectionSettings,
    InboundClient,
    RequestRecord,
    RetryPolicy,
    Timeouts,
)
from inbound_sync.api.body import read_limited
from inbound_sync.errors import (
    ConnectionFailed,
    OutcomeUnknown,
    ResponseFormatError,
    UsageError,
)
from reliability_support import ACME_KEY, run_main, served

LIMIT = 1024 * 1024
MIB = 1024 * 1024


class Source:
    """A response body produced on demand, counting how much of it the client pulled."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.pulled = 0
        self.raw_bytes = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.pulled += 1
            self.raw_bytes += len(chunk)
            yield chunk


class _Stream(httpx.AsyncByteStream):
    def __init__(self, source: Source) -> None:
        self.source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.source:
            yield chunk


def _streamed(source: Source, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=_Stream(source))


def gzip_bomb(decoded_mib: int) -> Iterator[bytes]:
    """A gzip stream of `decoded_mib` MiB of zeros, compressed about 1000:1, made as it is read."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    for _ in range(decoded_mib):
        yield deflate.compress(zeros) + deflate.flush(zlib.Z_SYNC_FLUSH)
    yield deflate.flush()


def endless(chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    while True:
        yield chunk


def _peak_of(action: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _limited(**options: Any) -> Harness:
    return Harness(max_response_bytes=LIMIT, **options)


# The size limit


def test_a_gzip_bomb_stops_at_the_limit_in_bounded_memory() -> None:
    source = Source(gzip_bomb(decoded_mib=8 * 1024))  # 8 GiB once decoded
    h = _limited()
    route(h, "GET", "/inbound/list").mock(
        return_value=_streamed(source, **{"content-encoding": "gzip"})
    )
    errors: list[BaseException] = []
    peak = _peak_of(lambda: errors.append(h.fails(list_op, ResponseFormatError)))
    assert "larger than 1,048,576 bytes" in str(errors[0])
    # About 1 KiB of the stream per MiB decoded: of 8 MiB sent, the client read one chunk.
    assert source.raw_bytes <= 128 * 1024
    assert peak < 8 * LIMIT
    assert h.calls == 1


def test_an_endless_chunked_body_stops_at_the_limit() -> None:
    source = Source(endless())
    h = _limited()
    route(h, "GET", "/inbound/list").mock(return_value=_streamed(source))
    error = h.fails(list_op, ResponseFormatError)
    assert error.status == 200
    assert source.pulled == LIMIT // 65536 + 1
    assert h.calls == 1


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read() -> None:
    source = Source(endless())
    h = _limited()
    huge = _streamed(source, **{"content-length": str(1024**3)})
    route(h, "GET", "/inbound/list").mock(return_value=huge)
    h.fails(list_op, ResponseFormatError)
    assert source.pulled == 0


@pytest.mark.parametrize("declared", ["100", str(LIMIT)])
def test_a_content_length_that_understates_the_body_still_stops_at_the_limit(
    declared: str,
) -> None:
    source = Source(endless())
    h = _limited()
    lying = _streamed(source, **{"content-length": declared})
    route(h, "GET", "/inbound/list").mock(return_value=lying)
    assert "larger than 1,048,576 bytes" in str(h.fails(list_op, ResponseFormatError))
    assert source.pulled == LIMIT // 65536 + 1


@pytest.mark.parametrize("excess", [0, 1], ids=["exactly-the-limit", "one-byte-more"])
def test_a_streamed_answer_of_the_limit_is_read_and_one_byte_more_is_not(excess: int) -> None:
    body = json.dumps(OK_BODIES["list"]).encode()
    h = Harness(max_response_bytes=len(body) - excess)
    answer = _streamed(Source(iter([body[:7], body[7:]])), **{"content-length": str(len(body))})
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    if excess:
        h.fails(list_op, ResponseFormatError)
    else:
        assert h.run(list_op) == ()


@pytest.mark.parametrize("encoding", [None, "identity"])
def test_an_unencoded_answer_is_read_into_the_response_itself(encoding: str | None) -> None:
    # No second response object is built for the common answer: only a decoded one needs it.
    headers = {"content-encoding": encoding} if encoding else {}
    answer = _streamed(Source(iter([b'{"success": ', b"true}"])), **headers)
    read = asyncio.run(read_limited(answer, LIMIT))
    assert read is answer
    assert (read.content, read.is_closed) == (b'{"success": true}', True)


def test_a_decoded_answer_drops_the_headers_of_its_encoding() -> None:
    answer = _streamed(
        Source(iter([gzip.compress(b"{}")])),
        **{"content-encoding": "gzip", "content-length": "22", "x-kept": "yes"},
    )
    answer.request = httpx.Request("GET", "https://api.example.test/inbound/list")
    read = asyncio.run(read_limited(answer, LIMIT))
    assert read.content == b"{}"
    assert "content-encoding" not in read.headers
    assert read.headers["x-kept"] == "yes"


@pytest.mark.socket
def test_over_a_socket_a_body_longer_than_its_content_length_is_cut_at_the_declared_length() -> (
    None
):
    async def go() -> BaseException | None:
        async with Liar(declared=20) as server:
            client = InboundClient(
                server.url, ApiKey(ACME_KEY), retry=RetryPolicy(attempts=1), max_response_bytes=64
            )
            async with client:
                try:
                    await client.list()
                except ResponseFormatError as exc:
                    return exc
        return None

    error = asyncio.run(go())
    # HTTP framing reads 20 bytes and no more: the start of a body that is not valid JSON.
    assert error is not None
    assert "a body that is not valid JSON" in str(error)


def test_the_message_names_the_limit_and_how_to_raise_it() -> None:
    h = _limited()
    route(h, "GET", "/inbound/list").mock(return_value=_streamed(Source(endless())))
    error = h.fails(lambda c: c.list(label="list the account"), ResponseFormatError)
    assert str(error) == (
        "list the account failed (HTTP 200): the answer to GET /inbound/list was larger than"
        " 1,048,576 bytes, the most the client reads; if the account is that large,"
        " raise INBOUND_SYNC_MAX_RESPONSE_BYTES"
    )
    assert [(r.outcome, r.status) for r in h.records] == [("error", 200)]


def test_an_oversize_error_answer_is_not_retried_either() -> None:
    source = Source(endless())
    h = _limited()
    route(h, "GET", "/inbound/list").mock(return_value=_streamed(source, status=503))
    assert h.fails(list_op, ResponseFormatError).status == 503
    assert (h.calls, h.sleeps) == (1, [])


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=[w[0] for w in WRITES])
def test_an_oversize_answer_to_a_write_leaves_its_outcome_unknown(
    name: str, method: str, path: str, op: Op
) -> None:
    h = _limited()
    route(h, method, path).mock(return_value=_streamed(Source(endless())))
    error = h.fails(op, OutcomeUnknown)
    assert "larger than 1,048,576 bytes" in error.reason
    assert h.calls == 1


def test_an_answer_of_exactly_the_limit_is_read_and_one_byte_more_is_not() -> None:
    body = json.dumps(OK_BODIES["list"]).encode()
    exact = Harness(max_response_bytes=len(body))
    route(exact, "GET", "/inbound/list").mock(return_value=httpx.Response(200, content=body))
    assert exact.run(list_op) == ()
    short = Harness(max_response_bytes=len(body) - 1)
    route(short, "GET", "/inbound/list").mock(return_value=httpx.Response(200, content=body))
    short.fails(list_op, ResponseFormatError)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda data: data),
    ],
    ids=["gzip", "deflate", "raw-deflate", "identity"],
)
def test_compressed_answers_within_the_limit_are_decoded(
    encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    encoded = encode(LIST_RESPONSE.encode())
    h = _limited()
    answer = _streamed(Source(iter([encoded[:40], encoded[40:]])), **{"content-encoding": encoding})
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    assert [m.phone_number for m in h.run(list_op)] == ["+918044319240"]


def test_a_highly_compressed_answer_under_the_limit_is_decoded_whole() -> None:
    # 2 MiB of JSON that compresses to a few KiB: every piece of the decoder's output is kept.
    rows = [json.loads(LIST_RESPONSE)["data"][0] | {"inbound_id": f"id-{i}"} for i in range(4000)]
    body = json.dumps({"success": True, "data": rows}).encode()
    h = Harness(max_response_bytes=len(body))
    answer = _streamed(Source(iter([gzip.compress(body)])), **{"content-encoding": "gzip"})
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    assert len(h.run(list_op)) == 4000


def test_an_encoding_the_client_did_not_offer_is_an_error() -> None:
    h = Harness(retry=RetryPolicy(attempts=1))
    answer = _streamed(Source(iter([b"\x1b\x00"])), **{"content-encoding": "br"})
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    error = h.fails(list_op, ConnectionFailed)
    assert "an encoding the client did not offer: 'br'" in str(error)


def test_corrupt_gzip_is_an_error_not_a_crash() -> None:
    h = Harness(retry=RetryPolicy(attempts=1))
    answer = _streamed(Source(iter([b"\x1f\x8b garbage"])), **{"content-encoding": "gzip"})
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    assert "not valid compressed data" in str(h.fails(list_op, ConnectionFailed))


def test_the_client_offers_only_the_encodings_it_decodes_within_the_limit() -> None:
    h = Harness()
    route(h, "GET", "/inbound/list").respond(json=OK_BODIES["list"])
    h.run(list_op)
    assert h.router.calls[0].request.headers["accept-encoding"] == "gzip, deflate"


def test_the_default_limit_holds_a_million_mappings_as_the_document_prints_them() -> None:
    document = LIST_RESPONSE
    row = document[document.index("[") + 1 : document.rindex("]")].strip()
    assert len(row) * 10**6 < 700 * 10**6 < DEFAULT_MAX_RESPONSE_BYTES == 10**9


# The limit from the environment, and through the CLI


def _settings(environ: dict[str, str]) -> ConnectionSettings:
    return ConnectionSettings.from_sources(
        api_url=None,
        api_key_file=None,
        allow_insecure_http=False,
        environ={"INBOUND_SYNC_API_KEY": "k", **environ},
    )


def test_the_limit_defaults_to_one_gigabyte_and_is_set_by_its_variable() -> None:
    assert _settings({}).max_response_bytes == 10**9
    assert _settings({"INBOUND_SYNC_MAX_RESPONSE_BYTES": " 2000000000 "}).max_response_bytes == (
        2 * 10**9
    )


@pytest.mark.parametrize("value", ["0", "-5", "1e9", "1 GB", "١٢٣", "9" * 16])
def test_a_limit_that_is_not_a_positive_byte_count_is_refused_without_echoing_it(
    value: str,
) -> None:
    with pytest.raises(UsageError) as info:
        _settings({"INBOUND_SYNC_MAX_RESPONSE_BYTES": value})
    assert str(info.value) == (
        "INBOUND_SYNC_MAX_RESPONSE_BYTES must be a whole number of bytes, at least 1"
    )


@pytest.mark.socket
def test_the_cli_stops_at_the_limit_set_in_the_environment_and_says_how_to_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        monkeypatch.setenv("INBOUND_SYNC_MAX_RESPONSE_BYTES", "40")
        result = run_main("plan", str(config))
        requests = sandbox.stats()["requests"]
    assert result.code == 1
    assert result.err == (
        "Error: list the account failed (HTTP 200): the answer to GET /inbound/list was larger"
        " than 40 bytes, the most the client reads; if the account is that large,"
        " raise INBOUND_SYNC_MAX_RESPONSE_BYTES\n"
    )
    assert requests == {"GET /inbound/list": 1}


# The deadline of an attempt


class Trickle:
    """A loopback HTTP server that sends its headers, then one body byte every `gap` seconds."""

    def __init__(self, *, gap: float = 0.05, length: int = 100) -> None:
        self.gap = gap
        self.length = length
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Trickle:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n"
            writer.write(head.encode())
            for _ in range(self.length):
                await asyncio.sleep(self.gap)
                writer.write(b" ")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


class Liar(Trickle):
    """A loopback HTTP server whose Content-Length claims `declared` bytes of a body that goes
    on for a megabyte."""

    def __init__(self, *, declared: int) -> None:
        super().__init__()
        self.declared = declared

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.declared}\r\n\r\n"
            writer.write(head.encode() + b'{"success": true, "data": [' + b" " * MIB)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _against_trickle(op: Op, *, attempts: int, records: list[RequestRecord]) -> Any:
    """Run `op` against a trickling server; each read waits about 0.05 s, far below 5 s."""

    async def go() -> tuple[int, BaseException | None]:
        async with Trickle() as server:
            client = InboundClient(
                server.url,
                ApiKey(ACME_KEY),
                timeouts=Timeouts(connect=1.0, read=5.0, total=0.3),
                retry=RetryPolicy(attempts=attempts, base_delay=0.0),
                on_request=records.append,
            )
            try:
                async with client:
                    await op(client)
            except Exception as exc:
                return server.connections, exc
            return server.connections, None

    return asyncio.run(go())


@pytest.mark.socket
def test_a_trickling_read_meets_the_deadline_and_is_retried_like_a_timeout() -> None:
    records: list[RequestRecord] = []
    connections, error = _against_trickle(list_op, attempts=2, records=records)
    assert isinstance(error, ConnectionFailed)
    assert str(error) == (
        "GET /inbound/list failed: DeadlineExceeded: no complete answer within 0.3 s;"
        " INBOUND_SYNC_REQUEST_DEADLINE sets a longer deadline (after 2 attempts)"
    )
    assert connections == 2
    assert [(r.outcome, r.status) for r in records] == [("retry", None), ("error", None)]


@pytest.mark.socket
@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=[w[0] for w in WRITES])
def test_a_trickling_write_meets_the_deadline_with_its_outcome_unknown(
    name: str, method: str, path: str, op: Op
) -> None:
    records: list[RequestRecord] = []
    connections, error = _against_trickle(op, attempts=5, records=records)
    assert isinstance(error, OutcomeUnknown)
    assert error.reason.startswith("DeadlineExceeded: no complete answer within 0.3 s")
    assert connections == 1
    assert [r.outcome for r in records] == ["unknown"]


def test_the_deadline_defaults_to_a_minute_and_is_set_by_its_variable() -> None:
    assert _settings({}).timeouts == Timeouts(connect=5.0, read=30.0, total=60.0)
    assert _settings({"INBOUND_SYNC_REQUEST_DEADLINE": "300"}).timeouts.total == 300.0
    assert _settings({"INBOUND_SYNC_REQUEST_DEADLINE": "0.5"}).timeouts.total == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "1e3", "soon", ".", "1.2.3", "٣"])
def test_a_deadline_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match=r"^INBOUND_SYNC_REQUEST_DEADLINE must be a number"):
        _settings({"INBOUND_SYNC_REQUEST_DEADLINE": value})


@pytest.mark.socket
def test_a_client_from_settings_keeps_the_deadline_of_the_environment() -> None:
    settings = _settings({"INBOUND_SYNC_REQUEST_DEADLINE": "0.3"})

    async def go() -> BaseException:
        async with Trickle() as server:
            chosen = settings._replace(base_url=server.url, retry=RetryPolicy(attempts=1))
            async with InboundClient.from_settings(chosen) as client:
                with pytest.raises(ConnectionFailed) as info:
                    await client.list()
        return info.value

    assert "no complete answer within 0.3 s" in str(asyncio.run(go()))
