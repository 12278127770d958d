"""Builders for fleet tests: fleet files with their target configs in a temporary directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from inbound_sync.fleet import Target
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


def fleet_target(name: str, system: str = "https://api.example.com:443") -> Target:
    """A Target record for pure tests: no file behind it."""
    return Target(
        name=name,
        api_url=system.rsplit(":", 1)[0],
        system=system,
        key_env=f"KEY_{name.upper()}",
        key_file=None,
        config=(f"{name}/",),
        source=f"fleet.yaml:{len(name)}",
    )


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
FLEET_SEED = EXAMPLE / "sandbox-seed.yaml"
FLEET_KEYS = {
    "INBOUND_SYNC_KEY_BRAND_A": "sandbox-key-brand-a",
    "INBOUND_SYNC_KEY_BRAND_B": "sandbox-key-brand-b",
    "INBOUND_SYNC_KEY_STAGING": "sandbox-key-staging",
}
BRAND_A_ASSISTANT = "0b5c1f3e-2a4d-4c6e-8f10-1a2b3c4d5e01"
BRAND_B_ASSISTANT = "0b5c1f3e-2a4d-4c6e-8f10-1a2b3c4d5e02"
MOVED = "918044319242"


def copy_example(root: Path, url: str) -> Path:
    """examples/fleet under `root`, every target pointed at `url`; returns the fleet file."""
    for name in ("brand-a", "brand-b", "staging"):
        (root / name).mkdir(parents=True, exist_ok=True)
        text = (EXAMPLE / name / "inbound.yaml").read_text(encoding="utf-8")
        (root / name / "inbound.yaml").write_text(text, encoding="utf-8")
    text = (EXAMPLE / "fleet.yaml").read_text(encoding="utf-8")
    path = root / "fleet.yaml"
    path.write_text(text.replace("http://127.0.0.1:8787", url), encoding="utf-8")
    return path
