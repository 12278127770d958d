"""Where the client connects and with which key: flags, then environment, then defaults."""

from __future__ import annotations

import hmac
import ipaddress
import string
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

import httpx

from inbound_sync.api.retry import RetryPolicy
from inbound_sync.errors import UsageError
from inbound_sync.vendor import PRODUCTION_URL

ENV_URL = "INBOUND_SYNC_API_URL"
ENV_KEY = "INBOUND_SYNC_API_KEY"
ENV_MAX_RESPONSE = "INBOUND_SYNC_MAX_RESPONSE_BYTES"
ENV_DEADLINE = "INBOUND_SYNC_REQUEST_DEADLINE"

# A list answer of 10^6 mappings in the document's shape takes 488 MB compact and 613 MB
# indented by two spaces; 1 GB holds either, and stops a body that would never end.
DEFAULT_MAX_RESPONSE_BYTES = 1_000_000_000

# Visible ASCII only: anything else would make httpx/h11 raise an error quoting the header value.
_KEY_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)


class ApiKey:
    """The API key; it shows as '***' everywhere, and `.reveal()` is for the auth header only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise UsageError("the API key is empty")
        if not set(value) <= _KEY_CHARS:
            raise UsageError(
                "the API key holds spaces, line breaks or non-ASCII characters; "
                "it must be a single token"
            )
        self._value = value

    def reveal(self) -> str:
        """The key itself; call only to build the Authorization header or to redact text."""
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((ApiKey, self._value))

    def __reduce__(self) -> str | tuple[object, ...]:
        # A pickled key would carry the secret into files and caches; refuse.
        raise TypeError("an ApiKey cannot be pickled")

    def __copy__(self) -> ApiKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> ApiKey:
        return self


class Timeouts(NamedTuple):
    """Seconds to wait for a connection and for each read (writes share it), and for a whole
    attempt: connecting, sending and reading the complete answer (a server that trickles one
    byte at a time never lets a read time out)."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.read, pool=self.connect
        )


class ConnectionSettings(NamedTuple):
    """Everything the client needs to reach the API; its repr never shows the key."""

    base_url: str
    api_key: ApiKey
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @classmethod
    def from_sources(
        cls,
        *,
        api_url: str | None,
        api_key_file: str | None,
        allow_insecure_http: bool,
        environ: Mapping[str, str],
    ) -> ConnectionSettings:
        """URL: flag, INBOUND_SYNC_API_URL, production. Key: key file, INBOUND_SYNC_API_KEY.
        The answer size limit and the deadline of an attempt: their variables, else defaults."""
        url = api_url or environ.get(ENV_URL, "").strip() or PRODUCTION_URL
        base_url = check_base_url(url, allow_insecure_http=allow_insecure_http)
        return cls(
            base_url=base_url,
            api_key=_resolve_key(api_key_file, environ),
            timeouts=Timeouts(total=_deadline(environ)),
            max_response_bytes=_max_response_bytes(environ),
        )


def _max_response_bytes(environ: Mapping[str, str]) -> int:
    text = environ.get(ENV_MAX_RESPONSE, "").strip()
    if not text:
        return DEFAULT_MAX_RESPONSE_BYTES
    # Not echoed, as no value read from the environment is: it may be a secret set by mistake.
    if not (text.isascii() and text.isdigit() and len(text) <= 15 and int(text) >= 1):
        raise UsageError(f"{ENV_MAX_RESPONSE} must be a whole number of bytes, at least 1")
    return int(text)


def _deadline(environ: Mapping[str, str]) -> float:
    text = environ.get(ENV_DEADLINE, "").strip()
    if not text:
        return Timeouts().total
    whole, _, fraction = text.partition(".")
    digits = whole + fraction
    if not (digits.isascii() and digits.isdigit() and len(text) <= 10 and float(text) > 0):
        raise UsageError(f"{ENV_DEADLINE} must be a number of seconds greater than 0")
    return float(text)


def check_base_url(url: str, *, allow_insecure_http: bool) -> str:
    """The URL without a trailing slash; UsageError if malformed or plain http to a remote host."""
    if any(mark in url for mark in "@?#"):
        # Not echoed: a user or query part may be a credential pasted in the wrong place.
        raise UsageError(
            "the API URL must not hold credentials, a query or a fragment;"
            f" set the key with {ENV_KEY} or --api-key-file"
        )
    parts = _split_url(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        raise UsageError(
            f"refusing plain http:// to {host}: the API key would cross the network unencrypted;"
            " use https://, or pass --allow-insecure-http"
        )
    return url.rstrip("/")


def _split_url(url: str) -> SplitResult:
    problem = f"malformed API URL {url!r}: expected https://host[:port][/path]"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port only raises when read
    except ValueError:
        raise UsageError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(problem)
    if any(c.isspace() or not c.isprintable() for c in url):
        raise UsageError(problem)
    try:
        # What the client will do with it: a request decodes the host (IDNA), and would raise.
        httpx.Request("GET", url)
    except (httpx.InvalidURL, ValueError):  # idna's errors are ValueErrors
        raise UsageError(problem) from None
    return parts


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: plain http never leaves the machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve_key(api_key_file: str | None, environ: Mapping[str, str]) -> ApiKey:
    if api_key_file is not None:
        return ApiKey(read_key_file(api_key_file))
    value = environ.get(ENV_KEY, "").strip()
    if not value:
        raise UsageError(
            f"no API key: set {ENV_KEY}, or pass --api-key-file PATH to a file holding the key"
        )
    return ApiKey(value)


def read_key_file(path: str) -> str:
    """The file's content without surrounding whitespace; errors never quote the content."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        # A path that names no file may be the key itself, pasted by mistake: never echo it.
        where = path if Path(path).exists() else "given with --api-key-file (path not shown)"
        raise UsageError(
            f"cannot read the API key file {where}: {exc.strerror or 'error'}"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"the API key file {path} is not UTF-8 text") from None
    if not text:
        raise UsageError(f"the API key file {path} is empty")
    if any(c.isspace() for c in text):
        raise UsageError(f"the API key file {path} must hold the key alone, on one line")
    return text
