"""`make demo`: the whole loop against a local sandbox (grows as the tool does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def step(title: str, *args: str) -> int:
    print(f"\n$ inbound-sync {' '.join(args)}    # {title}", flush=True)
    return subprocess.run([sys.executable, "-m", "inbound_sync", *args], check=False).returncode


def main() -> int:
    for target in ("inbound.yaml", "every-key.yaml", "teams"):
        if step("check the config offline", "validate", str(HERE / target)) != 0:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
