"""An HTTP answer or failure turned into one typed exception with a readable message.

The vendor documents status codes but not error bodies, so every shape met in practice is read:
{"success": false, "message": ...}, FastAPI's {"detail": "..."} and {"detail": [{"loc", "msg"}]},
{"error": ...}, plain text, an HTML page from a proxy, or nothing at all.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

import httpx
from pydantic import ValidationError

from inbound_sync.api.redaction import CLIP, Redact
from inbound_sync.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    OutcomeUnknown,
    RateLimited,
    ResponseFormatError,
    ServerError,
)


def _keep(text: str) -> str:
    return text


_MAX_TEXT = 200
_MAX_HEADER = 60
_MAX_ITEMS = 3
# How deep a message is looked for in a JSON error body ({"error": {"message": ...}} is 2).
_MAX_DEPTH = 4
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)

_BY_STATUS: dict[int, tuple[type[ApiError], str]] = {
    400: (BadRequestError, "the request was rejected as invalid"),
    # FastAPI answers 422 to a body that fails its validation: a bad request too.
    422: (BadRequestError, "the request was rejected as invalid"),
    401: (AuthError, "the API key was refused"),
    403: (AuthError, "the API key was refused"),
    404: (NotFoundError, "not found"),
    409: (ConflictError, "the number is already assigned to an active mapping"),
    429: (RateLimited, "rate limited"),
}


def error_for_status(
    response: httpx.Response,
    *,
    operation: str,
    write: bool,
    attempts: int,
    redact: Redact,
    refused_wait: str = "",
) -> ApiError:
    """The exception for a non-2xx answer that will not be retried any more.

    `refused_wait` (see `wait_refused`) says why a retryable answer was not retried.
    """
    cls, message = _classify(
        response, write=write, attempts=attempts, redact=redact, refused_wait=refused_wait
    )
    return cls(redact(message), operation=operation, status=response.status_code)


def _classify(
    response: httpx.Response, *, write: bool, attempts: int, redact: Redact, refused_wait: str
) -> tuple[type[ApiError], str]:
    status = response.status_code
    said = server_message(response, redact)
    if status >= 500:
        # A 5xx may come after the change was committed: only a fresh read can tell.
        if write:
            return OutcomeUnknown, said or "server error"
        return ServerError, (said or "server error") + refused_wait + _after(attempts)
    if 300 <= status < 400:
        # Redirects are not followed: the key must not travel to wherever they point.
        where = redact(response.headers.get("location", "elsewhere"))
        return ApiError, f"the server redirected to {clip(where)}; check the API URL"
    cls, default = _BY_STATUS.get(status, (ApiError, response.reason_phrase or "unexpected status"))
    if cls is AuthError:
        return cls, default + (f" ({said})" if said else "")
    if cls is RateLimited:
        return cls, _rate_limited(said, refused_wait, write=write, attempts=attempts)
    return cls, said or default


def _rate_limited(said: str | None, refused_wait: str, *, write: bool, attempts: int) -> str:
    message = (said or "rate limited") + refused_wait + _after(attempts)
    return message + ("; the change was not applied" if write else "")


def wait_refused(header: str, seconds: float, cap: float, redact: Redact) -> str:
    """'; the server asked to wait 999999 s (Retry-After: 999999), longer than the 60 s ...'."""
    shown = clip(redact(" ".join(header.split())), _MAX_HEADER)
    return (
        f"; the server asked to wait {_seconds(seconds)} s (Retry-After: {shown}),"
        f" longer than the {_seconds(cap)} s this tool waits"
    )


def _seconds(value: float) -> str:
    # Whole seconds, unless a fraction tells two close values apart (60.5 against a cap of 60).
    return f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


def transport_error(
    exc: httpx.HTTPError, *, operation: str, write: bool, sent: bool, attempts: int, redact: Redact
) -> ApiError:
    """The exception for a timeout or network failure that will not be retried any more."""
    reason = describe_exception(exc, redact)
    if write and sent:
        return OutcomeUnknown(reason, operation=operation)
    suffix = "; the request never reached the server, so nothing changed" if write else ""
    return ConnectionFailed(reason + _after(attempts) + suffix, operation=operation)


def describe_exception(exc: BaseException, redact: Redact = _keep) -> str:
    """'ReadTimeout', or 'ConnectError: [Errno 111] Connection refused'."""
    text = redact(" ".join(str(exc).split()))
    name = type(exc).__name__
    return f"{name}: {clip(text)}" if text else name


def _after(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""


def format_error(
    problem: str, *, request: str, operation: str, status: int, write: bool, redact: Redact
) -> ApiError:
    """A 2xx answer that breaks the contract: for a write, the change may have happened."""
    subject = "the answer" if operation == request else f"the answer to {request}"
    message = redact(f"{subject} was {problem}")
    cls = OutcomeUnknown if write else ResponseFormatError
    return cls(message, operation=operation, status=status)


def refused_error(body: object, *, operation: str, status: int, redact: Redact) -> ApiError:
    """A 2xx answer saying "success": false: the server says it did not act."""
    said = message_from_json(body, redact) or "the server reported failure without a message"
    return ApiError(redact(said), operation=operation, status=status)


def server_message(response: httpx.Response, redact: Redact = _keep) -> str | None:
    """The server's own explanation, from whatever shape the error body has; None if none.

    Redaction comes after decoding (JSON escapes, HTML entities), where the key is plain again,
    and before clipping: a key cut in half by the clip would no longer be found.
    """
    text = redact(_body_text(response))
    if not text.strip():
        return None
    if _looks_like_html(response, text):
        return _html_summary(text, redact)
    try:
        body = parse_json(text)
    except ValueError:
        return clip(" ".join(text.split()))
    return message_from_json(body, redact)


def parse_json(text: str | bytes) -> object:
    """json.loads, with nesting too deep to decode reported as the ValueError it is."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _body_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, LookupError):
        return ""


def _looks_like_html(response: httpx.Response, text: str) -> bool:
    kind = response.headers.get("content-type", "").lower()
    return "html" in kind or text.lstrip().startswith("<")


def _html_summary(text: str, redact: Redact) -> str:
    found = _TITLE.search(text)
    title = redact(" ".join(html.unescape(found.group(1)).split())) if found else ""
    named = f" titled {clip(title)!r}" if title else ""
    return (
        f"the server answered with an HTML page{named}, not the API's JSON"
        " (a proxy or gateway answered, or the API URL is wrong)"
    )


def message_from_json(body: object, redact: Redact = _keep, depth: int = 0) -> str | None:
    """'message', 'detail' (a string or FastAPI's list of errors), or 'error', when present."""
    if isinstance(body, str):
        return clip(redact(" ".join(body.split()))) or None
    if not isinstance(body, dict) or depth >= _MAX_DEPTH:
        return None
    for key in ("message", "detail", "error", "msg"):
        value = body.get(key)
        if isinstance(value, list):
            found = _validation_list(value, redact, depth + 1)
        else:
            found = message_from_json(value, redact, depth + 1)
        if found:
            return found
    return None


def _validation_list(items: Sequence[object], redact: Redact, depth: int) -> str | None:
    parts = [_validation_item(item, redact, depth) for item in items[:_MAX_ITEMS]]
    found = [p for p in parts if p]
    if not found:
        return None
    more = len(items) - _MAX_ITEMS
    return "; ".join(found) + (f"; and {more} more" if more > 0 else "")


def _validation_item(item: object, redact: Redact, depth: int) -> str | None:
    if not isinstance(item, dict):
        return message_from_json(item, redact, depth)
    msg = message_from_json(item.get("msg") or item.get("message"), redact, depth)
    loc = item.get("loc")
    if msg and isinstance(loc, list) and loc:
        where = " ".join(".".join(str(part) for part in loc).split())
        return f"{clip(redact(where))}: {msg}"
    return msg


def format_validation(exc: ValidationError) -> str:
    """'data[0].inbound_id: Field required; ...' without echoing the offending values."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{_location(e['loc'])}: {e['msg']}" for e in errors[:_MAX_ITEMS]]
    more = len(errors) - _MAX_ITEMS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


def clip(text: str, limit: int = _MAX_TEXT) -> str:
    """The text, cut to `limit` characters with a final '…' when longer."""
    return text if len(text) <= limit else text[: limit - 1] + CLIP
