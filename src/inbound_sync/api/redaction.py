"""Keeping the API key out of every text the client shows, in whatever form a server echoes it.

A server or proxy may echo the Authorization header as is, JSON-escaped ("\\u0073k-...", "\\/"),
or percent-encoded in a URL; and a message clipped to its last 200 characters may end in the
middle of it. The redactor undoes each encoding in turn and replaces the key after each, and then
replaces any prefix of the key (8 characters or more) that a clip left at its cut ("…").
"""

from __future__ import annotations

import re
from collections.abc import Callable

Redact = Callable[[str], str]

MASK = "***"
CLIP = "…"
# A shorter prefix says too little of the key to matter, and would match ordinary words.
MIN_PREFIX = 8

# Only escapes of visible ASCII are undone: the key is made of nothing else, and decoding other
# code points could produce lone surrogates that no terminal or file can take.
_JSON_ESCAPE = re.compile(r"\\(?:u00([2-7][0-9A-Fa-f])|([/\\\"]))")
_PERCENT = re.compile(r"%([2-7][0-9A-Fa-f])")


def _json_unescape(text: str) -> str:
    return _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else m[2], text)


def _percent_unescape(text: str) -> str:
    return _PERCENT.sub(lambda m: chr(int(m[1], 16)), text)


# Each step decodes one layer; the key is looked for before and after each, because decoding
# can also change a key that was written plainly (one holding '%41' or a backslash).
_DECODINGS: tuple[Callable[[str], str], ...] = (_json_unescape, _percent_unescape)


def redactor(secret: str) -> Redact:
    """A function that replaces `secret` in a text, plain, escaped or clipped, with '***'."""
    if not secret:
        raise ValueError("nothing to redact")

    def redact(text: str) -> str:
        text = _mask(text, secret)
        for decode in _DECODINGS:
            decoded = decode(text)
            if decoded != text:
                text = _mask(decoded, secret)
        return text

    return redact


def _mask(text: str, secret: str) -> str:
    return _mask_clipped(text.replace(secret, MASK), secret)


def _mask_clipped(text: str, secret: str) -> str:
    """Every prefix of `secret` of MIN_PREFIX characters or more that ends where a clip cut."""
    if CLIP not in text:
        return text
    parts = text.split(CLIP)
    for index, part in enumerate(parts[:-1]):
        for length in range(min(len(secret), len(part)), MIN_PREFIX - 1, -1):
            if part.endswith(secret[:length]):
                parts[index] = part[:-length] + MASK
                break
    return CLIP.join(parts)
