"""The floor of `plan`: the work any implementation must do for the same inputs, and nothing else.

One plain Python process fetches the account's list once, decodes its JSON, reads every config file
with PyYAML's C loader, and parses and validates every declared number with phonenumbers, with the
garbage collector tuned as the tool tunes it (inbound_sync.cli._tune_gc). It makes no decisions
and prints only how much it read, so that the caller can check it saw everything.

    python benchmarks/floor.py URL API_KEY FILE...
"""

from __future__ import annotations

import gc
import json
import sys
import urllib.request
from typing import Any

import phonenumbers
import yaml

# The generated configs set defaults.region to IN, the tool's own default.
REGION = "IN"


def fetch_list(url: str, api_key: str) -> list[Any]:
    """GET /inbound/list, decoded; the same request `plan` makes."""
    request = urllib.request.Request(
        url.rstrip("/") + "/inbound/list", headers={"Authorization": f"Bearer {api_key}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        data: list[Any] = json.loads(response.read())["data"]
    return data


def declared_numbers(path: str) -> int:
    """Read one config file and validate each number in it; returns how many there were."""
    with open(path, "rb") as handle:
        document = yaml.load(handle, Loader=yaml.CSafeLoader)
    count = 0
    for entry in document.get("numbers") or ():
        parsed = phonenumbers.parse(entry["number"], REGION)
        if not phonenumbers.is_valid_number(parsed):
            raise SystemExit(f"{path}: {entry['number']!r} is not valid")
        count += 1
    return count


def main(argv: list[str]) -> int:
    gc.set_threshold(50_000, 100, 100)
    url, api_key, *files = argv
    listed = fetch_list(url, api_key)
    declared = sum(declared_numbers(path) for path in files)
    print(json.dumps({"declared": declared, "listed": len(listed)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
