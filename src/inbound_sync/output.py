"""The one seam for user-facing output: results to stdout, progress and diagnostics to stderr."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import click


def color_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def write(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print to stdout, or stderr with err=True; ANSI codes are stripped off a terminal."""
    stream = sys.stderr if err else sys.stdout
    click.echo(text, file=stream, nl=nl, color=color_enabled(stream))


def style(text: str, color: bool, **styles: object) -> str:
    """click.style, applied only when colour is on."""
    return click.style(text, **styles) if color else text  # type: ignore[arg-type]
