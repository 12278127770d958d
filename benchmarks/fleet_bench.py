"""The fleet benchmark: `plan --fleet` over T targets of N numbers each, on one sandbox.

Beside it, in the same run and in turn with it, each target planned on its own
(`plan --format json DIR`, with that target's key), and each target's list read alone (one GET
from this process). The fleet plan reads its lists concurrently, so its target is the slowest
single plan, with a margin, plus the time to read the other lists:

    fleet <= 1.3 x max(single plans) + sum(list reads) - the slowest target's list read
"""

from __future__ import annotations

import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from harness import (
    ADMIN_TOKEN,
    BenchError,
    Run,
    Sample,
    cli_env,
    entry_yaml,
    measure,
    median,
    number_text,
    progress,
    secs,
    table,
    tool_argv,
)

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server

TARGET_FLEET = (20, 5_000)
"""The size the target is stated for: 20 targets of 5,000 numbers."""
MARGIN = 1.3
# Each target's numbers in its own block of Bangalore numbers; extras in another.
DECLARED_BASE = 918044000000
EXTRA_BASE = 918045000000
BLOCK = 10_000


class FleetResult(NamedTuple):
    targets: int
    numbers: int
    fleet: Sample
    singles: list[Sample]
    reads: list[float]

    @property
    def bound(self) -> float:
        slowest = max(range(len(self.singles)), key=lambda i: self.singles[i].wall_s)
        others = sum(self.reads) - self.reads[slowest]
        return MARGIN * self.singles[slowest].wall_s + others


def assistants(t: int) -> list[str]:
    # The sandbox's ids are unique across tenants.
    return [f"00000000-0000-4000-8{t:03d}-{k:012d}" for k in range(3)]


def target_inputs(directory: Path, t: int, n: int) -> tuple[dict[str, Any], dict[str, int]]:
    """One target's config (10% differ, 5% missing, 5% extra) and its tenant in the seed."""
    ids = assistants(t)
    entries, mappings = [], []
    expected = {"assign": 0, "update": 0, "unchanged": 0, "unmanaged": n // 20}
    for i in range(n):
        digits, mine = DECLARED_BASE + t * BLOCK + i, i % 3
        entries.append(entry_yaml(number_text(digits, i % 3), {"assistant": f"a{mine}"}))
        rest = i % 20
        kind = "update" if rest < 2 else "assign" if rest == 2 else "unchanged"
        expected[kind] += 1
        if kind != "assign":
            remote = ids[(mine + 1) % 3] if kind == "update" else ids[mine]
            mappings.append({"phone_number": f"+{digits}", "assistant_id": remote})
    mappings += [
        {"phone_number": f"+{EXTRA_BASE + t * BLOCK + j}", "assistant_id": ids[0]}
        for j in range(n // 20)
    ]
    directory.mkdir(parents=True)
    aliases = "".join(f"  a{k}: {ident}\n" for k, ident in enumerate(ids))
    (directory / "inbound.yaml").write_text(
        f"version: 1\nassistants:\n{aliases}numbers:\n" + "".join(entries)
    )
    tenant = {
        "api_key": f"bench-key-{t:02d}",
        "assistants": {ident: f"Assistant {t}.{k}" for k, ident in enumerate(ids)},
        "mappings": mappings,
    }
    return tenant, expected


def fleet_file(root: Path, url: str, count: int) -> Path:
    lines = ["version: 1", "targets:"]
    for t in range(count):
        lines += [
            f"  t{t:02d}:",
            f"    api_url: {url}",
            f"    api_key_env: BENCH_KEY_T{t:02d}",
            f"    config: [t{t:02d}/]",
        ]
    path = root / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_once(url: str, key: str) -> float:
    """One list call from this process, decoded: what reading one account costs."""
    started = time.perf_counter()
    response = httpx.get(f"{url}/inbound/list", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    response.json()
    return time.perf_counter() - started


def check(document: Mapping[str, Any], expected: Mapping[str, int]) -> None:
    got = {key: document["summary"][key] for key in expected}
    if got != dict(expected):
        raise BenchError(f"plan summary {got}, expected {dict(expected)}")


def bench_fleet(count: int, n: int, repeat: int) -> FleetResult:
    with tempfile.TemporaryDirectory(prefix=f"bench-fleet-{count}x{n}-") as tmp:
        root = Path(tmp)
        progress(f"fleet {count} x {n:,}: generating inputs and seeding the sandbox")
        tenants, expected = {}, {}
        for t in range(count):
            tenants[f"t{t:02d}"], expected[t] = target_inputs(root / f"t{t:02d}", t, n)
        app = create_app(seed={"admin_token": ADMIN_TOKEN, "tenants": tenants})
        try:
            with running_server(app) as url:
                return _measure(root, url, count, n, repeat, expected)
        finally:
            app.state.sandbox.close()


def _measure(
    root: Path, url: str, count: int, n: int, repeat: int, expected: Mapping[int, dict[str, int]]
) -> FleetResult:
    fleet = fleet_file(root, url, count)
    env = cli_env(url)
    env.update({f"BENCH_KEY_T{t:02d}": f"bench-key-{t:02d}" for t in range(count)})
    # Each command in its own directory, where measure() keeps what it printed.
    for name in ["fleet", *(f"t{t:02d}" for t in range(count))]:
        (root / "out" / name).mkdir(parents=True)
    runs: list[Callable[[], Run]] = [
        functools.partial(
            measure,
            [*tool_argv(), "plan", "--fleet", str(fleet), "--format", "json"],
            env=env,
            cwd=root / "out" / "fleet",
        )
    ]
    for t in range(count):
        single = {**env, "INBOUND_SYNC_API_KEY": f"bench-key-{t:02d}"}
        argv = [*tool_argv(), "plan", "--format", "json", str(root / f"t{t:02d}")]
        runs.append(functools.partial(measure, argv, env=single, cwd=root / "out" / f"t{t:02d}"))
    progress(f"fleet {count} x {n:,}: the fleet plan and each target alone, in turn, x{repeat}")
    runs[0]()  # warm-up
    rounds = [[run() for run in runs] for _ in range(repeat)]
    document = json.loads(rounds[-1][0].stdout.read_text())
    for t in range(count):
        check(document["targets"][f"t{t:02d}"], expected[t])
    reads = [
        statistics.median(read_once(url, f"bench-key-{t:02d}") for _ in range(repeat))
        for t in range(count)
    ]
    columns = [median([r[i].sample for r in rounds]) for i in range(count + 1)]
    return FleetResult(count, n, columns[0], columns[1:], reads)


def fleet_table(result: FleetResult) -> str:
    singles = [s.wall_s for s in result.singles]
    row = [
        f"{result.targets} x {result.numbers:,}",
        secs(result.fleet.wall_s),
        f"{result.fleet.peak_mib:.0f}",
        secs(sum(singles)),
        secs(max(singles)),
        secs(sum(result.reads)),
        secs(result.bound),
        f"{result.fleet.wall_s / max(singles):.2f}x",
        f"{result.fleet.wall_s / sum(singles):.2f}x",
    ]
    headers = [
        "targets x N",
        "fleet s",
        "fleet MiB",
        "sum of singles s",
        "slowest single s",
        "sum of reads s",
        "target s",
        "fleet / slowest",
        "fleet / sum",
    ]
    return table(headers, [row])


def within_target(result: FleetResult) -> bool | None:
    """None unless the run has the stated size."""
    if (result.targets, result.numbers) != TARGET_FLEET:
        return None
    return result.fleet.wall_s <= result.bound
