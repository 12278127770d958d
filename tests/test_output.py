from __future__ import annotations

import io

import pytest

from inbound_sync.output import color_enabled, style


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_enabled(_Terminal())


def test_no_colour_off_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert not color_enabled(io.StringIO())


@pytest.mark.parametrize("value", ["1", "true", "anything"])
def test_no_color_wins_even_on_a_terminal(monkeypatch, value):
    monkeypatch.setenv("NO_COLOR", value)
    assert not color_enabled(_Terminal())


def test_style_is_plain_text_without_colour():
    assert style("x", False, fg="red") == "x"
    assert style("x", True, fg="red") == "\x1b[31mx\x1b[0m"
