"""`validate` and `schema`: offline checks of the config language."""

from __future__ import annotations

from collections.abc import Sequence

from inbound_sync import config
from inbound_sync.cli.common import STDOUT, load_config, write_out
from inbound_sync.config import DesiredState
from inbound_sync.jsontext import indented
from inbound_sync.output import write


def run(paths: Sequence[str]) -> int:
    """Load every file and print a one-line summary; ConfigError propagates to the exit code."""
    write(format_summary(load_config(paths)))
    return 0


def format_summary(state: DesiredState) -> str:
    """'OK: 2 files, 5 numbers (4 present, 1 absent), 2 assistant aliases, 1 strategy alias'."""
    absent = sum(1 for n in state.numbers if n.ensure == "absent")
    present = len(state.numbers) - absent
    parts = [
        _count(len(state.files), "file"),
        f"{_count(len(state.numbers), 'number')} ({present} present, {absent} absent)",
        _count(len(state.assistants), "assistant alias", "assistant aliases"),
        _count(len(state.strategies), "strategy alias", "strategy aliases"),
    ]
    return "OK: " + ", ".join(parts)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def format_schema() -> str:
    """The schema as committed in schemas/inbound-sync.schema.json."""
    return indented(config.json_schema(), ensure_ascii=True) + "\n"


def print_schema(out: str = STDOUT) -> int:
    write_out(out, format_schema())
    if out != STDOUT:
        write(f"Wrote the JSON Schema to {out}", err=True)
    return 0
