"""One escaping function per output format, for every string that came from the API or a config.

Names, ids, numbers, paths and server messages are data. Each is escaped where it enters a line,
before the line is styled, so that line breaks, colours and markup stay the renderer's own:

    text(s)             control characters shown visibly (\\x1b, \\n, \\u202e)
    markdown(s)         text(), then HTML and Markdown neutralized: a table cell or list item
    markdown_code(s)    text() as a code span (a source path), else markdown(s)
    github_message(s)   text(), then the workflow-command encoding of % CR LF
    github_property(s)  github_message(s), and : and , as well (file=, title=)
    json(s)             unchanged: json.dumps escapes at serialization

Ordinary names (letters, digits, spaces, most punctuation) come out of each unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Escape = Callable[[str], str]

# C0, DEL and C1 (which hold every line break str.splitlines knows but two), those two (the line
# and paragraph separators), and the bidi marks, embeddings, overrides and isolates that make a
# terminal or a browser show text in another order than it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# HTML's three, backslash (so that data cannot escape our escapes), and the inline markup:
# code, emphasis, links and images, strikethrough, table pipes. An underscore between two letters
# or digits cannot emphasize, so support_en stays as written.
_MARKDOWN = re.compile(r"[\\`*\[\]|~<>&]|(?<![^\W_])_|_(?![^\W_])")
_MARKUP_CHARS = re.compile(r"[\\`*\[\]|~<>&_]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# What would open a block where a list item's text begins: a heading, a list, a thematic break.
_BLOCK_START = re.compile(r"^(?:[#-]|\+(?= |$)|\d{1,9}[.)](?= |$))")
_BLOCK_FIRST = frozenset("#-+0123456789")
_NOT_IN_CODE = re.compile("[`|<>]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: str) -> str:
    """`value` with no control character left raw: no line break, escape sequence or bidi mark."""
    if value.isprintable():  # the usual case, checked in C: every character above is unprintable
        return value
    return _CONTROL.sub(_visible, value)


def _markup(match: re.Match[str]) -> str:
    char = match.group()
    return _ENTITIES.get(char, "\\" + char)


def markdown(value: str) -> str:
    """`value` as literal Markdown text: no tag, link, emphasis, cell break or new line in it."""
    shown = text(value)
    if _MARKUP_CHARS.search(shown):  # a plain character class first: most names have none
        shown = _MARKDOWN.sub(_markup, shown)
    start = _BLOCK_START.match(shown) if shown[:1] in _BLOCK_FIRST else None
    if start:  # the backslash goes before the marker's last character: \#, \-, 1\.
        return f"{shown[: start.end() - 1]}\\{shown[start.end() - 1 :]}"
    return shown


def markdown_code(value: str) -> str:
    """`value` as a code span; as markdown() text when a span could not hold it as it is."""
    shown = text(value)
    # A backtick would end the span, a pipe the table cell, and <, > are kept out of the output
    # altogether; the span trims an outer space. Such paths are rare enough to show as text.
    if _NOT_IN_CODE.search(shown) or not shown or shown != shown.strip(" "):
        return markdown(value)
    return f"`{shown}`"


def _command_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_message(value: str) -> str:
    """`value` as the message of a workflow command (`::error ...::message`), on one line."""
    return _command_data(text(value))


def github_property(value: str) -> str:
    """`value` as a workflow command's property value (file=, title=)."""
    return github_message(value).replace(":", "%3A").replace(",", "%2C")


def json(value: str) -> str:
    """`value` unchanged: JSON output escapes at serialization, and must round-trip the data."""
    return value
