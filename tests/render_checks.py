"""What every output format must hold whatever the data in it: the checks of the escaping tests."""

from __future__ import annotations

import re

# What must never reach a terminal raw: every line break but \n, escape, the C1 controls, bidi.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
SGR = re.compile("\x1b\\[[0-9;]*m")
OUR_ANNOTATION = re.compile(
    r"::(notice|warning|error) (file=[^,:]*,line=[0-9]+,)?title=[a-z :%0-9A-F-]+::[^\r\n]*"
)
OUR_TAGS = ("<details><summary>", "</summary>", "</details>")


def check_lines(out: str) -> list[str]:
    """Output ends with a newline, has no line break but \\n, and no line starts a command."""
    assert out.endswith("\n")
    lines = out[:-1].split("\n")
    assert out.splitlines() == lines
    assert not [line for line in lines if line.startswith("::")]
    return lines


def check_text(out: str, *, color: bool = False) -> None:
    """No raw control character but \\n, and with colour on, the escape of our own SGR codes."""
    check_lines(out)
    plain = SGR.sub("", out) if color else out
    assert not UNSAFE.findall(plain)


def check_github(out: str, annotations: int) -> None:
    """Exactly `annotations` workflow commands, each ours from start to end of its line."""
    assert out.endswith("\n")
    lines = out[:-1].split("\n")
    assert out.splitlines() == lines
    ours = [line for line in lines if line.startswith("::")]
    assert len(ours) == annotations
    for line in ours:
        assert OUR_ANNOTATION.fullmatch(line), line
    assert not UNSAFE.findall(out)


def check_markdown(out: str, columns: int) -> None:
    """No tag but our own, and every table row with its `columns` cells."""
    lines = check_lines(out)
    rest = out
    for tag in OUR_TAGS:
        rest = rest.replace(tag, "")
    assert "<" not in rest
    assert out.count("</details>") <= 1
    for line in lines:
        if line.startswith("|"):
            # GFM splits a row at every pipe without a backslash before it.
            assert len(re.findall(r"(?<!\\)\|", line)) == columns + 1, line
    assert not UNSAFE.findall(out)
