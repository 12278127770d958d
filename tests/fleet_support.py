"""Builders for fleet tests: fleet files with their target configs in a temporary directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sandbox_fixtures import SUPPORT

CONFIG = """\
version: 1
assistants:
  support: {assistant}
numbers:
{numbers}
"""


def config_text(numbers: list[str], assistant: str = SUPPORT) -> str:
    """A config declaring each number present with `support`, or absent as '-NUMBER'."""
    entries = []
    for number in numbers:
        if number.startswith("-"):
            entries.append(f'  - number: "{number[1:]}"\n    ensure: absent')
        else:
            entries.append(f'  - number: "{number}"\n    assistant: support')
    return CONFIG.format(assistant=assistant, numbers="\n".join(entries) or "  []")


def write_fleet(
    root: Path,
    targets: Mapping[str, Mapping[str, object]],
    configs: Mapping[str, str] | None = None,
) -> Path:
    """fleet.yaml under `root` with `targets` (name -> settings), and each config text given."""
    lines = ["version: 1", "targets:"]
    for name, settings in targets.items():
        lines.append(f"  {name}:")
        for key, value in settings.items():
            shown = f"[{', '.join(value)}]" if isinstance(value, list) else str(value)
            lines.append(f"    {key}: {shown}")
    path = root / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, text in (configs or {}).items():
        target = root / name / "inbound.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return path


def target(url: str, variable: str, config: str) -> dict[str, object]:
    return {"api_url": url, "api_key_env": variable, "config": [config]}
