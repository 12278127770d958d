"""config.load_many: several configs (a fleet's targets) read by one pool, each result in place.

As in test_config_workers, the parallel runs happen in a child process: forking is allowed only
where no other thread runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from inbound_sync import config
from inbound_sync.errors import ConfigError
from test_config_workers import COMMON, write_config

CHILD = """
import json, sys
from inbound_sync import config
from inbound_sync.errors import ConfigError

groups, count = json.loads(sys.argv[1]), int(sys.argv[2])
found = []
for result in config.load_many(groups, workers=count):
    if isinstance(result, ConfigError):
        found.append({"issues": [list(i) for i in result.issues]})
    else:
        found.append({"numbers": [list(n) for n in result.numbers], "files": list(result.files)})
print(json.dumps(found))
"""


def many_in_child(groups: list[list[str]], count: int) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(groups), str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def alone(paths: list[str]) -> dict[str, Any]:
    try:
        state = config.load(paths, workers=1)
    except ConfigError as exc:
        return {"issues": [list(i) for i in exc.issues]}
    return {"numbers": [list(n) for n in state.numbers], "files": list(state.files)}


def test_each_config_loads_as_it_does_alone_in_parallel_or_not(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    bad = write_config(tmp_path / "a", 3000)  # errors of every kind
    (tmp_path / "good").mkdir()
    good = tmp_path / "good" / "numbers.yaml"
    good.write_text(
        COMMON
        + "numbers:\n"
        + "".join(
            f'  - number: "+{918042000000 + i}"\n    assistant: support\n' for i in range(3000)
        )
    )
    shared = tmp_path / "b" / "more.yaml"
    shared.write_text('version: 1\nnumbers:\n  - number: "+918043000000"\n    assistant: null\n')
    groups = [[str(bad)], [str(good), str(shared)], [str(tmp_path / "missing")], [str(shared)]]
    expected = [alone(g) for g in groups]
    assert [sorted(e) for e in expected] == [
        ["issues"],
        ["files", "numbers"],
        ["issues"],
        ["files", "numbers"],
    ]
    assert many_in_child(groups, 1) == expected
    assert many_in_child(groups, 2) == expected
