"""`make demo`: the whole loop against a local sandbox on a free loopback port.

validate -> plan -> apply -> drift (clean) -> an out-of-band change -> drift (exit 2) -> apply.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
CONFIG = str(HERE / "inbound.yaml")
ADMIN = {"Authorization": "Bearer sandbox-admin"}
SALES = "de305d54-75b4-431b-adb2-eb6b9e546014"


@contextmanager
def sandbox() -> Iterator[str]:
    """`inbound-sync sandbox serve` on port 0; yields the URL it logs."""
    command = [sys.executable, "-m", "inbound_sync", "sandbox", "serve", "--port", "0"]
    command += ["--seed", str(HERE / "sandbox-seed.yaml")]
    # Access logs go to the server's stdout; the demo shows the tool's output, not the server's.
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = _wait_for_url(server)
        threading.Thread(target=server.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()


def _wait_for_url(server: subprocess.Popen[str]) -> str:
    assert server.stderr is not None
    for line in server.stderr:
        print(f"  [sandbox] {line.rstrip()}", flush=True)
        found = re.search(r"http://127\.0\.0\.1:[0-9]+", line)
        if found:
            return found.group(0)
    raise SystemExit("the sandbox did not start")


def step(title: str, *args: str, expect: int = 0) -> None:
    print(f"\n$ inbound-sync {' '.join(args)}    # {title}", flush=True)
    code = subprocess.run([sys.executable, "-m", "inbound_sync", *args], check=False).returncode
    if code != expect:
        raise SystemExit(f"demo: expected exit {expect}, got {code}")


def change_out_of_band(url: str) -> None:
    """Someone re-routes a number by hand, behind git's back."""
    mappings = httpx.get(f"{url}/_sandbox/mappings", headers=ADMIN).json()["data"]
    target = next(m for m in mappings if m["phone_number_normalized"] == "918044319241")
    httpx.patch(
        f"{url}/_sandbox/mappings/{target['inbound_id']}",
        headers=ADMIN,
        json={"assistant_id": SALES},
    )
    print("\n# out of band: +91 80 4431 9241 re-routed to the sales assistant by hand", flush=True)


def main() -> int:
    step("check the config offline", "validate", CONFIG)
    with sandbox() as url:
        os.environ.update(INBOUND_SYNC_API_URL=url, INBOUND_SYNC_API_KEY="sandbox-key-acme")
        step("look at the account first", "list")
        step(
            "what would change (exit 2: changes pending)",
            "plan",
            CONFIG,
            "--detailed-exitcode",
            expect=2,
        )
        step("make it so", "apply", CONFIG, "--auto-approve")
        step("nightly drift check: clean", "drift", CONFIG)
        change_out_of_band(url)
        step("nightly drift check: drift found (exit 2)", "drift", CONFIG, expect=2)
        step("put it back", "apply", CONFIG, "--auto-approve")
        step("and it is clean again", "drift", CONFIG)
    print("\nDemo complete.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
