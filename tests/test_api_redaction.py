"""The key stays hidden when a server echoes it escaped, encoded, or long enough to be clipped.

JSON may write any character as \\uXXXX and '/' as \\/; a URL writes '/' as %2F. Messages are
clipped to 200 characters, so redaction must see the decoded text before the clip, and a key
prefix that a clip leaves at its end must go too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from api_support import BASE, WRITES, Harness, Op, list_op, route
from inbound_sync.api import ApiKey, InboundClient, RetryPolicy, verbose_logger
from inbound_sync.api.errors import clip, server_message
from inbound_sync.api.redaction import redactor
from inbound_sync.errors import ApiError
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import Answer, Scripted, run_main, seed_with_key

# A key with the characters escaping changes: '/' (JSON's \/ and a URL's %2F), and '+', '='.
KEY = "sk-live/ESC4PE+7c1e9f0b/4d2a6e=Q"
WINDOW = 8


def _escaped_every_char(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _escaped_slashes(text: str) -> str:
    return text.replace("/", "\\/")


# The forms a server may echo the key in, as they appear in a JSON string's source.
FORMS = {
    "plain": KEY,
    "slashes-escaped": _escaped_slashes(KEY),
    "every-char-escaped": _escaped_every_char(KEY),
    "uppercase-hex": _escaped_every_char(KEY).upper().replace("\\U", "\\u"),
}


def leaks(text: str) -> list[str]:
    """Every 8-character run of the key found in `text`, plain or in any of its encoded forms."""
    views = {text, _decoded(text)}
    runs = [KEY[i : i + WINDOW] for i in range(len(KEY) - WINDOW + 1)]
    return sorted({run for run in runs for view in views if run in view})


def _decoded(text: str) -> str:
    # Undo JSON escapes and percent-encoding the way a reader of the output could.
    try:
        text = json.loads(f'"{text}"')
    except ValueError:
        text = text.replace("\\/", "/")
    return text.replace("%2F", "/").replace("%2f", "/").replace("%2B", "+").replace("%3D", "=")


# The redactor itself

redact = redactor(KEY)


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
def test_the_key_in_any_json_form_becomes_stars(form: str) -> None:
    assert redact(f"token {form} refused") == "token *** refused"


def test_a_percent_encoded_key_becomes_stars() -> None:
    assert redact(f"https://x.test/?t={quote(KEY, safe='')}") == "https://x.test/?t=***"


def test_a_key_prefix_left_at_a_clip_becomes_stars() -> None:
    clipped = clip("x" * 180 + KEY)
    assert clipped.endswith(KEY[:19] + "…")
    assert redact(clipped) == "x" * 180 + "***…"


def test_a_prefix_at_a_clip_inside_a_message_goes_too() -> None:
    text = f"titled '{KEY[:12]}…' (a proxy answered)"
    assert redact(text) == "titled '***…' (a proxy answered)"


def test_a_prefix_shorter_than_eight_characters_says_too_little_to_mask() -> None:
    text = "x" * 10 + KEY[:7] + "…"
    assert redact(text) == text


def test_a_key_that_looks_encoded_itself_is_found_before_decoding() -> None:
    odd = "sk-%41bc\\/def-0123456789"
    assert redactor(odd)(f"echo {odd} and {odd[:10]}…") == "echo *** and ***…"


def test_text_without_the_key_is_left_as_it_is_apart_from_decoded_escapes() -> None:
    assert redact("Assistant not found") == "Assistant not found"
    assert redact("a \\/ b %2F c") == "a / b / c"


# Every path of the client: the error, its record, the verbose log line


def _bodies() -> Iterator[tuple[str, int, str]]:
    for name, form in FORMS.items():
        yield f"{name}-json-message", 401, f'{{"detail": "invalid token Bearer {form}"}}'
        # The key straddles the 200-character clip: found only when redaction comes first.
        yield f"{name}-clipped", 409, f'{{"message": "{"x" * 180} {form} rest"}}'
        yield f"{name}-refusal", 200, f'{{"success": false, "message": "{"y" * 185}{form}"}}'
        yield f"{name}-validation", 400, f'{{"detail": [{{"loc": ["h"], "msg": "{form}"}}]}}'
        yield f"{name}-not-json", 403, f"token {form} is not valid"
    yield "html-entities", 502, f"<html><title>{'z' * 150}{KEY.replace('/', '&#47;')}</title>"
    # A redirect's location, clipped in the middle of the key, or holding it percent-encoded.
    yield "redirect-clipped", 307, f"https://x.test/{'p' * 170}?t={KEY}"
    yield "redirect-percent-encoded", 307, f"https://x.test/?t={quote(KEY, safe='')}"


BODIES = list(_bodies())


def _answer(status: int, body: str) -> httpx.Response:
    if status == 307:
        return httpx.Response(307, headers={"location": body})
    kind = "text/html" if body.startswith("<html>") else "application/json"
    return httpx.Response(status, text=body, headers={"content-type": kind})


class Echoed(Harness):
    """The usual harness, with this file's key."""

    def client(self) -> InboundClient:
        return InboundClient(
            BASE,
            ApiKey(KEY),
            transport=httpx.MockTransport(self.router.async_handler),
            **{"sleep": self.sleep, "clock": lambda: self.now, **self.options},
        )


def _shown(h: Harness, error: BaseException, log: io.StringIO) -> list[str]:
    texts = [str(error), repr(error), repr(vars(error)), log.getvalue()]
    texts += [repr(record) for record in h.records]
    texts += [record.error or "" for record in h.records]
    return texts


@pytest.mark.parametrize(("status", "body"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
@pytest.mark.parametrize(
    "op", [list_op, WRITES[0][3], WRITES[3][3]], ids=["list", "assign", "delete"]
)
def test_an_echoed_key_in_any_form_shows_nowhere(status: int, body: str, op: Op) -> None:
    log = io.StringIO()
    h = Echoed(retry=RetryPolicy(attempts=1))
    h.options["on_request"] = lambda r: (h.records.append(r), verbose_logger(log)(r))
    h.router.route().mock(return_value=_answer(status, body))
    error = h.fails(op, ApiError)
    assert h.records
    assert [text for text in _shown(h, error, log) if leaks(text)] == []


def test_unredacted_the_clipped_answer_would_show_the_key() -> None:
    # The test above proves something only if the server's message, unredacted, holds the key.
    body = f'{{"message": "{"x" * 180} {FORMS["every-char-escaped"]} rest"}}'
    assert leaks(server_message(_answer(409, body)) or "")


def test_a_retried_answer_echoing_the_key_leaves_no_trace_in_any_record() -> None:
    h = Echoed(retry=RetryPolicy(attempts=3))
    body = f'{{"detail": "{"x" * 190}{FORMS["slashes-escaped"]}"}}'
    route(h, "GET", "/inbound/list").mock(return_value=_answer(503, body))
    log = io.StringIO()
    h.options["on_request"] = lambda r: (h.records.append(r), verbose_logger(log)(r))
    error = h.fails(list_op, ApiError)
    assert len(h.records) == 3
    assert [text for text in _shown(h, error, log) if leaks(text)] == []


# End to end: the CLI, its stderr with --verbose, and the audit log


@pytest.fixture
def echoing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Scripted, Path]]:
    """The sandbox with tenant acme's key set to KEY, behind a layer that answers as scripted."""
    app = create_app(seed=seed_with_key(KEY))
    scripted = Scripted(app)
    with running_server(scripted) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", KEY)
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        (tmp_path / "inbound.yaml").write_text("version: 1\nnumbers: []\n", encoding="utf-8")
        try:
            yield scripted, tmp_path
        finally:
            app.state.sandbox.close()


@pytest.mark.socket
@pytest.mark.parametrize("status", [401, 409, 200])
@pytest.mark.parametrize("form", ["slashes-escaped", "every-char-escaped"])
def test_no_form_of_the_key_reaches_stderr_stdout_or_the_audit_log(
    echoing: tuple[Scripted, Path], status: int, form: str
) -> None:
    scripted, root = echoing
    body = f'{{"success": false, "message": "{"x" * 180} {FORMS[form]} rest"}}'
    scripted.script(Answer("GET /inbound/list", status, body, count=2))
    log = root / "audit.jsonl"
    config = str(root / "inbound.yaml")
    apply = run_main("apply", config, "--auto-approve", "-v", "--log-file", str(log))
    plan = run_main("plan", config, "-v")
    for result in (apply, plan):
        assert result.code == 1
        assert "x" * 20 in result.err  # the server's message was shown, redacted
        assert leaks(result.out) == []
        assert leaks(result.err) == []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert entries
    assert all(entry["error"] for entry in entries)
    assert leaks(log.read_text(encoding="utf-8")) == []
