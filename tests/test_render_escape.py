"""The escaping functions, one per format, on each class of dangerous input and on ordinary names."""

from __future__ import annotations

import pytest

from inbound_sync.render import escape

ORDINARY = [
    "Sales Assistant",
    "support",
    "support_en",
    "crm-lookup v2.1",
    "Réception (Paris)",
    "受付",
    "👩‍💻 Dev desk",  # a ZWJ emoji sequence is not a control character
    "550e8400-e29b-41d4-a716-446655440000",
    "+91 80 4431 9240",
    "inbound.yaml:240",
    "50% off: calls, texts",
]


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_are_unchanged_in_text(name):
    assert escape.text(name) == name


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\tb", "a\\tb"),
        ("\x00", "\\x00"),
        ("\x1b[31mred", "\\x1b[31mred"),
        (
            "\x1b]8;;https://evil.invalid\x07link\x1b]8;;\x07",
            "\\x1b]8;;https://evil.invalid\\x07link\\x1b]8;;\\x07",
        ),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b1m", "csi\\x9b1m"),
        ("next\x85line", "next\\x85line"),
        ("vt\x0bff\x0c", "vt\\x0bff\\x0c"),
        ("gnp\u202etxt.exe", "gnp\\u202etxt.exe"),
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("\u200fmark\u061c", "\\u200fmark\\u061c"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ],
)
def test_text_shows_control_characters_visibly(raw, shown):
    assert escape.text(raw) == shown


def test_text_leaves_no_line_break_that_splitlines_knows():
    every = "".join(chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1)
    assert len(escape.text(every).splitlines()) == 1


def test_text_is_idempotent():
    once = escape.text("a\nb\x1b\u202e")
    assert escape.text(once) == once


@pytest.mark.parametrize("name", ["Sales Assistant", "support_en", "R2-D2", "+91 80 4431 9240"])
def test_ordinary_names_are_unchanged_in_markdown(name):
    assert escape.markdown(name) == name


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Globex | Bot", "Globex \\| Bot"),
        ("</details><h1>x</h1>", "&lt;/details&gt;&lt;h1&gt;x&lt;/h1&gt;"),
        ("R&D", "R&amp;D"),
        ("&lt;", "&amp;lt;"),
        ("a`code`", "a\\`code\\`"),
        ("two\nlines", "two\\\\nlines"),
        ("[click](https://evil.invalid)", "\\[click\\](https://evil.invalid)"),
        ("![img](x)", "!\\[img\\](x)"),
        ("*bold* ~~gone~~", "\\*bold\\* \\~\\~gone\\~\\~"),
        ("_italic_", "\\_italic\\_"),
        ("snake_case_", "snake_case\\_"),
        ("back\\slash", "back\\\\slash"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("---", "\\---"),
        ("+ item", "\\+ item"),
        ("1. first", "1\\. first"),
        ("12) first", "12\\) first"),
    ],
)
def test_markdown_neutralizes_markup(raw, escaped):
    assert escape.markdown(raw) == escaped


def test_markdown_shows_control_characters_as_text_does():
    assert escape.markdown("\x1b\u202e") == "\\\\x1b\\\\u202e"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("inbound.yaml:240", "`inbound.yaml:240`"),
        ("R&D/*_x_*.yaml:1", "`R&D/*_x_*.yaml:1`"),  # nothing is markup inside a code span
        ("x\ny.yaml:1", "`x\\ny.yaml:1`"),
        # What a span cannot hold as it is, plain escaped text shows instead.
        ("a|b.yaml:1", "a\\|b.yaml:1"),
        ("a`b.yaml:1", "a\\`b.yaml:1"),
        ("</details>.yaml:1", "&lt;/details&gt;.yaml:1"),
        (" lead.yaml:1", " lead.yaml:1"),
    ],
)
def test_markdown_code_spans_only_what_a_span_holds(raw, shown):
    assert escape.markdown_code(raw) == shown


def test_github_message_cannot_end_the_line():
    message = escape.github_message("100%\r\n::error file=x::pwned")
    assert message == "100%25\\r\\n::error file=x::pwned"
    assert "\n" not in message
    assert "\r" not in message


def test_github_property_cannot_end_the_property_or_the_command():
    value = escape.github_property("dir,x/a:b%\n.yaml")
    assert value == "dir%2Cx/a%3Ab%25\\n.yaml"


def test_json_leaves_data_for_json_dumps():
    assert escape.json("a\n<b>|`c`") == "a\n<b>|`c`"
