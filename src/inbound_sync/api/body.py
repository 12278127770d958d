"""Reading an answer's body within a size limit, decompressing it without ever exceeding it.

httpx's own decoders expand each network chunk whole: 64 KiB of a gzip bomb becomes 64 MiB at
once. Here gzip and deflate are decoded with zlib's `max_length`, so the decoded body never
holds more than the limit plus one byte, however the server compresses or streams it.

An answer sent as is (no Content-Encoding, as most are) needs no decoding: httpx reads it into
the response itself, through a stream that counts the bytes as they arrive and stops past the
limit, whatever Content-Length claimed. That spares every small write's answer a second
response object.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from httpx import AsyncByteStream

# The encodings the client offers in Accept-Encoding, and so the only ones it decodes.
ACCEPT_ENCODING = "gzip, deflate"
# Raw bytes handed to the decoder at a time: what one decode call may expand at most.
_RAW_CHUNK = 64 * 1024
# Headers that describe the encoded body, not the decoded one the answer holds.
_ENCODING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ResponseTooLarge(Exception):
    """The decoded body exceeded the limit; reading stopped there."""

    def __init__(self, limit: int, status: int) -> None:
        super().__init__(f"the answer exceeded {limit} bytes")
        self.limit = limit
        self.status = status


class _Decoder(Protocol):
    def decode(self, data: bytes, room: int) -> bytes:
        """Decode from `data`, returning at most `room` bytes (an identity decoder: all of it)."""

    @property
    def busy(self) -> bool:
        """True when more output may come without more input."""

    def flush(self) -> bytes: ...


class _Identity:
    busy = False

    def decode(self, data: bytes, room: int) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip (wbits 16+15) or deflate, zlib-wrapped or raw as servers send it."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflate = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False
        self._full = False

    @property
    def busy(self) -> bool:
        # A piece that filled the room may leave output inside zlib even with no input left.
        return bool(self._inflate.unconsumed_tail) or self._full

    def decode(self, data: bytes, room: int) -> bytes:
        before = self._inflate.unconsumed_tail
        piece = self._step(before + data, room)
        # No output and no input consumed would loop forever: only a filled room says "more".
        self._full = len(piece) >= room
        return piece

    def _step(self, data: bytes, room: int) -> bytes:
        try:
            piece = self._inflate.decompress(data, room)
        except zlib.error as exc:
            if not (self._raw_fallback and not self._started):
                raise httpx.DecodingError(f"the body is not valid compressed data: {exc}") from None
            # Some servers send raw deflate without the zlib wrapper the name promises.
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            piece = self._step(data, room)
        self._started = True
        return piece

    def flush(self) -> bytes:
        return self._inflate.flush()


def _decoder(encoding: str) -> _Decoder:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    raise httpx.DecodingError(f"the body has an encoding the client did not offer: {name[:40]!r}")


async def read_limited(response: httpx.Response, limit: int) -> httpx.Response:
    """The response with its decoded body read, at most `limit` bytes; ResponseTooLarge beyond.

    Closes the streamed response. A declared length over the limit fails before any byte is read.
    """
    try:
        decoder = _decoder(response.headers.get("content-encoding", ""))
        if isinstance(decoder, _Identity):
            if _declared_length(response) > limit:
                raise ResponseTooLarge(limit, response.status_code)
            if await _read_as_is(response, limit):
                return response
        body = await _read(response, decoder, limit)
    finally:
        await response.aclose()
    headers = [
        (k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODING_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


async def _read_as_is(response: httpx.Response, limit: int) -> bool:
    """Read an unencoded streamed body into `response` itself, capped; False when it is not
    streamed (an answer built in memory), for _read to check."""
    stream = response.stream
    if response.is_stream_consumed or not isinstance(stream, AsyncByteStream):
        return False
    response.stream = _Capped(stream, limit, response.status_code)
    await response.aread()
    return True


class _Capped(AsyncByteStream):
    """A response's own stream, stopped with ResponseTooLarge once it has given `limit` bytes
    and more: the limit holds even when the server's Content-Length understates the body."""

    def __init__(self, stream: AsyncByteStream, limit: int, status: int) -> None:
        self._stream = stream
        self._limit = limit
        self._status = status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > self._limit:
                raise ResponseTooLarge(self._limit, self._status)
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


async def _read(response: httpx.Response, decoder: _Decoder, limit: int) -> bytes:
    if response.is_stream_consumed:
        # Built in memory and read already (as a mock transport's answers are): nothing streams.
        if len(response.content) > limit:
            raise ResponseTooLarge(limit, response.status_code)
        return response.content
    chunks: list[bytes] = []
    size = 0

    def keep(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > limit:
            raise ResponseTooLarge(limit, response.status_code)
        chunks.append(piece)

    async for raw in response.aiter_raw(_RAW_CHUNK):
        keep(decoder.decode(raw, limit - size + 1))
        while decoder.busy:
            keep(decoder.decode(b"", limit - size + 1))
    keep(decoder.flush())
    return b"".join(chunks)


def _declared_length(response: httpx.Response) -> int:
    text = response.headers.get("content-length", "")
    # At most 18 digits: int() refuses longer strings of digits with a ValueError of its own.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
