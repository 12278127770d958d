"""The apply benchmarks: bound by latency, by the client's CPU, and by the API's rate limit.

latency  N changes against the sandbox answering every request after L ms, at concurrency
         C, end to end, against the ideal N x L / C; beside a bare httpx client
         (apply_floor.py) sending as many writes
cpu      the client's CPU time per write at a short latency, against the bare httpx client's:
         (CPU of apply - CPU of plan on the same inputs) / N, and
         (CPU of apply_floor.py with N writes - with none) / N
rate     N changes against the sandbox limited to R requests a second per API key, with a
         Retry-After of 1 s, at the default settings, against the ideal N / R; and how many
         writes it answered 429. --baseline SRC runs the same with the code in SRC (a
         checkout of an earlier version), as `python -m inbound_sync`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from harness import (
    ADMIN_TOKEN,
    API_KEY,
    APPLY_BASE,
    ASSISTANTS,
    HERE,
    BenchError,
    Sample,
    Target,
    cli_env,
    entry_yaml,
    mapping,
    measure,
    median,
    number_text,
    progress,
    secs,
    seed_document,
    share,
    table,
    tool_argv,
    verdict,
    write_config,
)

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server

# The configurations the targets are stated for; other runs print "n/a" for them.
LATENCY_TARGET = (2_000, 100, 8)
CPU_TARGET = (2_000, 10)
RATE_TARGET = (1_000, 100.0)


def apply_inputs(directory: Path, changes: int) -> dict[str, Any]:
    """A config needing `changes` writes (10% deletes, 10% detaches, 30% updates, 50% assigns)
    beside a quarter as many numbers in sync; returns the seed of the account."""
    deletes = detaches = changes // 10
    updates = changes * 3 // 10
    kinds = ["delete"] * deletes + ["detach"] * detaches + ["update"] * updates
    kinds += ["assign"] * (changes - len(kinds)) + ["same"] * (changes // 4)
    entries, mappings = [], []
    for i, kind in enumerate(kinds):
        digits, mine = APPLY_BASE + i, i % 5
        if kind == "delete":
            fields = {"ensure": "absent"}
        else:
            fields = {"assistant": "null" if kind == "detach" else f"a{mine}"}
        entries.append(entry_yaml(number_text(digits, i % 3), fields))
        if kind != "assign":
            remote = (mine + 1) % 5 if kind == "update" else mine
            mappings.append(mapping(digits, ASSISTANTS[remote], None))
    write_config(directory, entries)
    return seed_document(mappings)


def check_writes(stats: Mapping[str, Any], changes: int, lists: int | None = 2) -> None:
    """Every change written once; the account listed twice (plan, verify), never per change
    (`lists` None: reads may have been refused and read again)."""
    listed = stats["requests"].get("GET /inbound/list", 0)
    if stats["writes"] != changes or (lists is not None and listed != lists):
        raise BenchError(
            f"apply made {stats['writes']} writes and {listed} list calls;"
            f" expected {changes} and {lists}"
        )


def apply_argv(config: Path, concurrency: int | None = None) -> list[str]:
    argv = [*tool_argv(), "apply", "--auto-approve", "--allow-destructive", "--format", "json"]
    return argv + (["--concurrency", str(concurrency)] if concurrency else []) + [str(config)]


def floor_argv(url: str, changes: int, concurrency: int) -> list[str]:
    script = str(HERE / "apply_floor.py")
    return [sys.executable, script, url, API_KEY, str(changes), str(concurrency)]


# -- latency-bound -------------------------------------------------------------------------------


class LatencyResult(NamedTuple):
    changes: int
    latency_ms: int
    concurrency: int
    ideal_s: float
    ours: Sample
    floor: Sample


def bench_latency(changes: int, latency_ms: int, concurrency: int, repeat: int) -> LatencyResult:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp)
        seed = apply_inputs(root / "config", changes)
        app = create_app(seed=seed, admin_token=ADMIN_TOKEN, latency_ms=latency_ms)
        sandbox = app.state.sandbox
        progress(
            f"apply: {changes:,} changes at {latency_ms} ms, concurrency {concurrency} x{repeat}"
        )
        ours, floors = [], []
        try:
            with running_server(app) as url:
                env = cli_env(url)
                for _ in range(repeat):
                    sandbox.reset()
                    argv = apply_argv(root / "config", concurrency)
                    ours.append(measure(argv, env=env, cwd=root).sample)
                    check_writes(sandbox.stats(), changes)
                    sandbox.reset()
                    floor = floor_argv(url, changes, concurrency)
                    floors.append(measure(floor, env=env, cwd=root).sample)
        finally:
            sandbox.close()
    ideal = changes * latency_ms / 1000 / concurrency
    return LatencyResult(changes, latency_ms, concurrency, ideal, median(ours), median(floors))


def latency_table(r: LatencyResult) -> str:
    headers = ["changes", "latency ms", "concurrency", "ideal s", "apply s", "ideal / apply"]
    headers += ["httpx floor s", "ideal / floor"]
    row = [f"{r.changes:,}", str(r.latency_ms), str(r.concurrency), secs(r.ideal_s)]
    row += [secs(r.ours.wall_s), share(r.ideal_s, r.ours.wall_s)]
    row += [secs(r.floor.wall_s), share(r.ideal_s, r.floor.wall_s)]
    return table(headers, [row])


# -- CPU per write ------------------------------------------------------------------------------


class CpuResult(NamedTuple):
    changes: int
    latency_ms: int
    apply: Sample
    plan: Sample
    floor: Sample
    floor_empty: Sample

    @property
    def ours_ms(self) -> float:
        return 1000 * (self.apply.cpu_s - self.plan.cpu_s) / self.changes

    @property
    def floor_ms(self) -> float:
        return 1000 * (self.floor.cpu_s - self.floor_empty.cpu_s) / self.changes


def bench_cpu(changes: int, latency_ms: int, repeat: int) -> CpuResult:
    """The four commands in turn, `repeat` times: apply, plan, the floor, the empty floor."""
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        root = Path(tmp)
        seed = apply_inputs(root / "config", changes)
        app = create_app(seed=seed, admin_token=ADMIN_TOKEN, latency_ms=latency_ms)
        sandbox = app.state.sandbox
        progress(f"apply: CPU per write, {changes:,} changes at {latency_ms} ms x{repeat}")
        samples: list[list[Sample]] = [[], [], [], []]
        try:
            with running_server(app) as url:
                env = cli_env(url)
                plan = [*tool_argv(), "plan", "--format", "json", "--allow-destructive"]
                plan.append(str(root / "config"))
                commands = [
                    apply_argv(root / "config"),
                    plan,
                    floor_argv(url, changes, 8),
                    floor_argv(url, 0, 8),
                ]
                for _ in range(repeat):
                    for column, argv in zip(samples, commands, strict=True):
                        sandbox.reset()
                        column.append(measure(argv, env=env, cwd=root).sample)
        finally:
            sandbox.close()
    return CpuResult(changes, latency_ms, *(median(column) for column in samples))


def cpu_table(r: CpuResult) -> str:
    headers = ["changes", "latency ms", "apply CPU s", "plan CPU s", "ms per write"]
    headers += ["floor CPU s", "empty floor CPU s", "floor ms per write", "apply / floor"]
    row = [f"{r.changes:,}", str(r.latency_ms), secs(r.apply.cpu_s), secs(r.plan.cpu_s)]
    row += [f"{r.ours_ms:.2f}", secs(r.floor.cpu_s), secs(r.floor_empty.cpu_s)]
    row += [f"{r.floor_ms:.2f}", f"{r.ours_ms / r.floor_ms:.2f}x" if r.floor_ms > 0 else "-"]
    return table(headers, [row])


# -- rate-bound ----------------------------------------------------------------------------------


class RateResult(NamedTuple):
    code: str
    changes: int
    rate: float
    ideal_s: float
    ours: Sample
    refused: int
    sent: int
    failed_runs: int


def bench_rate(
    changes: int, rate: float, repeat: int, baseline: str | None = None
) -> list[RateResult]:
    """This code, and the code in `baseline` if given, in turn, `repeat` times each."""
    with tempfile.TemporaryDirectory(prefix="bench-rate-") as tmp:
        root = Path(tmp)
        seed = apply_inputs(root / "config", changes)
        limit = {"rate": rate, "retry_after": "1"}
        app = create_app(seed=seed, admin_token=ADMIN_TOKEN, rate_limit=limit)
        sandbox = app.state.sandbox
        codes = [("this code", tool_argv(), {})]
        if baseline is not None:
            module = [sys.executable, "-m", "inbound_sync"]
            codes.append(("before (--baseline)", module, {"PYTHONPATH": baseline}))
        progress(f"apply: {changes:,} changes limited to {rate:g} requests/s x{repeat}")
        runs: dict[str, list[tuple[Sample, int, int, int]]] = {name: [] for name, _, _ in codes}
        try:
            with running_server(app) as url:
                for _ in range(repeat):
                    for name, tool, extra in codes:
                        sandbox.reset()
                        env = {**cli_env(url), **extra}
                        argv = apply_argv(root / "config")
                        argv[: len(tool_argv())] = tool
                        done = measure(argv, env=env, cwd=root, check=False)
                        stats = sandbox.stats()
                        if done.code == 0:
                            check_writes(stats, changes, lists=None)
                        refused = sum(
                            n for route, n in stats["rate_limited"].items() if "GET" not in route
                        )
                        sent = stats["writes"] + refused
                        runs[name].append((done.sample, refused, sent, int(done.code != 0)))
        finally:
            sandbox.close()
    return [
        RateResult(
            name,
            changes,
            rate,
            changes / rate,
            median([r[0] for r in found]),
            int(statistics.median(r[1] for r in found)),
            int(statistics.median(r[2] for r in found)),
            sum(r[3] for r in found),
        )
        for name, found in runs.items()
    ]


def rate_table(results: Sequence[RateResult]) -> str:
    headers = ["code", "changes", "limit /s", "ideal s", "apply s", "ideal / apply"]
    headers += ["writes sent", "answered 429", "429 share", "runs failed"]
    rows = [
        [
            r.code,
            f"{r.changes:,}",
            f"{r.rate:g}",
            secs(r.ideal_s),
            secs(r.ours.wall_s),
            share(r.ideal_s, r.ours.wall_s),
            f"{r.sent:,}",
            f"{r.refused:,}",
            f"{100 * r.refused / r.sent:.1f}%" if r.sent else "-",
            str(r.failed_runs),
        ]
        for r in results
    ]
    return table(headers, rows)


# -- targets ---------------------------------------------------------------------------------------


def apply_targets(
    latency: LatencyResult, cpu: CpuResult, rates: Sequence[RateResult]
) -> list[Target]:
    at_latency = (latency.changes, latency.latency_ms, latency.concurrency) == LATENCY_TARGET
    at_cpu = (cpu.changes, cpu.latency_ms) == CPU_TARGET
    ours = rates[0]
    at_rate = (ours.changes, ours.rate) == RATE_TARGET
    return [
        verdict(
            "apply, 100 ms latency, concurrency 8: at least 93% of N x L / C",
            latency.ideal_s / latency.ours.wall_s if at_latency else None,
            "{:.0%}",
            lambda v: v >= 0.93,
        ),
        verdict(
            "apply at 10 ms: client CPU per write within 1.1x the httpx floor",
            cpu.ours_ms / cpu.floor_ms if at_cpu and cpu.floor_ms > 0 else None,
            "{:.2f}x",
            lambda v: v <= 1.1,
        ),
        verdict(
            "apply limited to 100/s: at least 90% of N / rate",
            ours.ideal_s / ours.ours.wall_s if at_rate else None,
            "{:.0%}",
            lambda v: v >= 0.9,
        ),
        verdict(
            "apply limited to 100/s: at most 2% of writes answered 429",
            ours.refused / ours.sent if at_rate and ours.sent else None,
            "{:.1%}",
            lambda v: v <= 0.02,
        ),
    ]


def apply_report(latency: LatencyResult, cpu: CpuResult, rates: Sequence[RateResult]) -> list[str]:
    return [
        "### Apply, latency-bound: `inbound-sync apply` end to end",
        latency_table(latency),
        "ideal = changes x latency / concurrency; apply s holds start-up, reading the config,"
        " two list calls and the verification too; httpx floor = a bare httpx client sending as"
        " many writes (benchmarks/apply_floor.py).",
        "### Apply, CPU per write: the client's own CPU time",
        cpu_table(cpu),
        "ms per write = (CPU of apply - CPU of plan on the same inputs) / changes; floor ms per"
        " write = (CPU of apply_floor.py with the writes - with none) / changes.",
        "### Apply, rate-bound: the sandbox limits each API key, Retry-After 1 s",
        rate_table(rates),
        "ideal = changes / limit; default settings (concurrency 8, no --max-rate); 429 share ="
        " writes answered 429 / writes sent.",
    ]


def baseline_path(value: str | None) -> str | None:
    """The src directory of an earlier checkout, or None; BenchError if it holds no package."""
    if value is None:
        return None
    path = Path(value).resolve()
    if not (path / "inbound_sync" / "__init__.py").is_file():
        raise BenchError(f"--baseline {value}: no inbound_sync package in that directory")
    return os.fspath(path)
