"""Benchmarks of inbound-sync, each beside a baseline measured in the same run.

    plan      `inbound-sync plan --format json` at N numbers (10% differ, 5% missing, 5% extra),
              against its floor (floor.py) and against octoDNS planning a zone of N records
    apply     2,000 changes against the sandbox answering every request after 10 ms, at several
              concurrencies, against the ideal N x latency / C and a bare httpx client
              (apply_floor.py) sending as many writes
    provenance `plan --format json` at N numbers in a git work tree (one blame per config file
              with changes), against the same plan of a copy outside any work tree
    start-up  --version, --help and validate of a one-number file, against `python -c pass`
    fleet     `plan --fleet` over 20 targets of 5,000 numbers on one sandbox, against each target
              planned alone and each list read alone (fleet_bench.py)

Every case builds its own inputs in a temporary directory, runs as a subprocess (wall time and
peak RSS of that process alone, see spawn.py), checks what it printed, is repeated, and reports
medians. The tables go to stdout, progress to stderr.

    python benchmarks/bench.py            # the full run (`make bench`), about ten minutes
    python benchmarks/bench.py --smoke    # N = 200, a tiny apply, no octoDNS (`make test`)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from fleet_bench import FleetResult

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server

HERE = Path(__file__).resolve().parent
OCTODNS_VENV = HERE / ".venv-octodns"
API_KEY = "bench-key"
ADMIN_TOKEN = "bench-admin"
NUMBERS_PER_FILE = 5_000
RUN_TIMEOUT_S = 900.0
ASSISTANTS = tuple(f"00000000-0000-4000-8000-{k:012d}" for k in range(5))
STRATEGIES = tuple(f"00000000-0000-4000-9000-{k:012d}" for k in range(2))
# The configuration the targets are stated for; other runs print "n/a" for them.
TARGET_SIZES = (10_000, 100_000)
TARGET_APPLY = (2_000, 10)


class BenchError(RuntimeError):
    """A measured run that did not do what the benchmark expects (exit code or output)."""


# -- measuring one subprocess ----------------------------------------------------------------


class Sample(NamedTuple):
    wall_s: float
    peak_mib: float


class Run(NamedTuple):
    sample: Sample
    stdout: Path


def measure(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Run:
    """Run `argv` to completion through spawn.py, which reports the command's own wall time and
    peak RSS; a non-zero exit is a BenchError carrying the end of its stderr."""
    out, err, result = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "spawned.txt"
    launcher = [sys.executable, "-S", str(HERE / "spawn.py"), str(result), *argv]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            launcher,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        try:
            proc.wait(RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stop(proc)
            raise BenchError(f"{shown(argv)} did not finish in {RUN_TIMEOUT_S:.0f} s") from None
        except BaseException:  # Ctrl-C or SIGTERM: leave nothing running behind
            stop(proc)
            raise
    wall, peak_kib, code = result.read_text().split()
    if code != "0":
        tail = err.read_text(errors="replace")[-2000:]
        raise BenchError(f"{shown(argv)} exited {code}:\n{tail}")
    return Run(Sample(float(wall), int(peak_kib) / 1024), out)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the launcher and the command it spawned (its own process group)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def shown(argv: Sequence[str]) -> str:
    return " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv[:4])) + " ..."


def repeated(run: Callable[[], Run], repeat: int, *, warmup: bool) -> tuple[Sample, Run]:
    """Median wall time and median peak RSS of `repeat` runs, after an optional warm-up run."""
    if warmup:
        run()
    runs = [run() for _ in range(repeat)]
    return median([r.sample for r in runs]), runs[-1]


def alternating(
    runs: Sequence[Callable[[], Run]], repeat: int, *, warmup: bool
) -> list[tuple[Sample, Run]]:
    """repeated() for commands compared with each other: they take turns, so that a change of
    load on the machine (this one is shared) falls on each of them alike."""
    if warmup:
        for run in runs:
            run()
    rounds = [[run() for run in runs] for _ in range(repeat)]
    columns = [[r[i] for r in rounds] for i in range(len(runs))]
    return [(median([r.sample for r in column]), column[-1]) for column in columns]


def median(samples: Sequence[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall_s for s in samples),
        statistics.median(s.peak_mib for s in samples),
    )


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def tool_argv() -> list[str]:
    """The console script next to this interpreter, as users run it."""
    script = Path(sys.executable).with_name("inbound-sync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "inbound_sync"]


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_SYNC_")}
    env.update(INBOUND_SYNC_API_URL=url, INBOUND_SYNC_API_KEY=API_KEY, NO_COLOR="1")
    return env


# -- generated inputs ----------------------------------------------------------------------------

# Digits of declared, extra (undeclared) and apply numbers: Bangalore ranges phonenumbers accepts.
DECLARED_BASE = 918041000000
EXTRA_BASE = 918042000000
APPLY_BASE = 918043000000


def number_text(digits: int, style: int) -> str:
    """A number as people write it, in one of three styles, so that parsing sees variety."""
    d = str(digits)
    if style == 0:
        return f"+91 80 {d[4:8]} {d[8:]}"
    if style == 1:
        return f"0{d[2:4]} {d[4:8]} {d[8:]}"
    return f"+{d}"


def common_yaml() -> str:
    assistants = "".join(f"  a{k}: {ident}\n" for k, ident in enumerate(ASSISTANTS))
    strategies = "".join(f"  s{k}: {ident}\n" for k, ident in enumerate(STRATEGIES))
    return (
        f"version: 1\ndefaults:\n  region: IN\nassistants:\n{assistants}strategies:\n{strategies}"
    )


def entry_yaml(text: str, fields: Mapping[str, str]) -> str:
    body = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    return f'  - number: "{text}"\n{body}'


def write_config(directory: Path, entries: Sequence[str]) -> list[Path]:
    """common.yaml and the entries split over files, as a large account's repository would be."""
    directory.mkdir()
    files = [directory / "common.yaml"]
    files[0].write_text(common_yaml())
    for start in range(0, len(entries), NUMBERS_PER_FILE):
        path = directory / f"numbers-{start // NUMBERS_PER_FILE:03d}.yaml"
        path.write_text(
            "version: 1\nnumbers:\n" + "".join(entries[start : start + NUMBERS_PER_FILE])
        )
        files.append(path)
    return files


def mapping(digits: int, assistant: str, strategy: str | None) -> dict[str, Any]:
    return {
        "phone_number": f"+{digits}",
        "assistant_id": assistant,
        "inbound_context_strategy_id": strategy,
    }


def seed_document(mappings: list[dict[str, Any]]) -> dict[str, Any]:
    tenant = {
        "api_key": API_KEY,
        "assistants": {ident: f"Assistant {k}" for k, ident in enumerate(ASSISTANTS)},
        "strategies": {ident: f"Strategy {k}" for k, ident in enumerate(STRATEGIES)},
        "mappings": mappings,
    }
    return {"admin_token": ADMIN_TOKEN, "tenants": {"bench": tenant}}


def plan_share(i: int) -> str:
    """Which share declared number i falls in: 10% differ, 5% missing, the rest in sync."""
    rest = i % 20
    return "differ" if rest < 2 else "missing" if rest == 2 else "same"


class PlanInputs(NamedTuple):
    files: list[Path]
    seed: dict[str, Any]
    expected: dict[str, int]


def plan_inputs(directory: Path, n: int) -> PlanInputs:
    """N declared numbers, and an account of N mappings: 10% differ, 5% missing, 5% extra."""
    entries, mappings = [], []
    expected = {"assign": 0, "update": 0, "unchanged": 0, "unmanaged": n // 20}
    for i in range(n):
        digits, assistant = DECLARED_BASE + i, i % 5
        strategy = STRATEGIES[i % 2] if i % 4 == 0 else None
        fields = {"assistant": f"a{assistant}", "strategy": f"s{i % 2}" if strategy else "null"}
        entries.append(entry_yaml(number_text(digits, i % 3), fields))
        share = plan_share(i)
        expected[{"differ": "update", "missing": "assign", "same": "unchanged"}[share]] += 1
        if share != "missing":
            remote = (assistant + 1) % 5 if share == "differ" else assistant
            mappings.append(mapping(digits, ASSISTANTS[remote], strategy))
    mappings += [mapping(EXTRA_BASE + j, ASSISTANTS[0], None) for j in range(n // 20)]
    return PlanInputs(write_config(directory, entries), seed_document(mappings), expected)


# -- octoDNS, the reconciler of the same shape -----------------------------------------------

ZONE = "bench.example.com."


class Octo(NamedTuple):
    """octoDNS ready to run, or why it is not."""

    sync: Path | None
    note: str


def prepare_octodns(venv: Path) -> Octo:
    """octoDNS in its own venv, created on first use with `pip install octodns`; never raises."""
    python, sync = venv / "bin" / "python", venv / "bin" / "octodns-sync"
    if not sync.exists():
        progress(f"installing octoDNS into {venv} (first run only)")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            pip = [str(python), "-m", "pip", "install", "--quiet", "octodns"]
            subprocess.run(pip, check=True, timeout=900, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            return Octo(None, f"octoDNS not installed ({type(exc).__name__})")
    if not sync.exists():
        return Octo(None, "octoDNS not installed (no octodns-sync after pip install)")
    version = subprocess.run(
        [str(python), "-c", "import octodns; print(octodns.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Octo(sync, f"octoDNS {version or '(unknown version)'}")


def a_record(name: str, address: str) -> str:
    return f"{name}:\n  ttl: 300\n  type: A\n  value: {address}\n"


def address(i: int, first: int) -> str:
    return f"{first}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def octodns_inputs(directory: Path, n: int) -> Path:
    """A zone of N A records, and a current state with the shares of differences of plan_inputs.

    Both sides are YamlProvider directories: `config` is the source, and `state` is the target
    whose existing records octoDNS reads and diffs, as `plan` diffs the list call. Its plan is
    printed as JSON (PlanJson), as ours is with --format json.
    """
    desired, current = [], []
    for i in range(n):
        name, share = f"r{i:06d}", plan_share(i)
        desired.append(a_record(name, address(i, 10)))
        if share != "missing":
            current.append(a_record(name, address(i, 172 if share == "differ" else 10)))
    current += [a_record(f"x{j:06d}", address(j, 10)) for j in range(n // 20)]
    directory.mkdir()
    for side, records in (("config", desired), ("state", current)):
        (directory / side).mkdir()
        (directory / side / f"{ZONE}yaml").write_text("---\n" + "".join(records))
    config = directory / "octodns.yaml"
    config.write_text(
        "manager:\n  plan_outputs:\n    json:\n      class: octodns.provider.plan.PlanJson\n"
        "providers:\n"
        "  config:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./config\n"
        "  state:\n    class: octodns.provider.yaml.YamlProvider\n    directory: ./state\n"
        f"zones:\n  {ZONE}:\n    sources: [config]\n    targets: [state]\n"
    )
    return config


def check_octodns_output(stdout: Path, expected: Mapping[str, int]) -> None:
    """The same shares as ours: differing records update, missing ones create, extras delete."""
    counts: dict[str, int] = {}
    for change in json.loads(stdout.read_text())["state"][ZONE]["changes"]:
        counts[change["type"]] = counts.get(change["type"], 0) + 1
    want = {
        "update": expected["update"],
        "create": expected["assign"],
        "delete": expected["unmanaged"],
    }
    if counts != want:
        raise BenchError(f"octoDNS planned {counts}, expected {want}")


# -- plan --------------------------------------------------------------------------------------


class PlanResult(NamedTuple):
    n: int
    ours: Sample
    floor: Sample
    octodns: Sample | None
    octodns_note: str


def check_plan_output(stdout: Path, expected: Mapping[str, int]) -> None:
    summary = json.loads(stdout.read_text())["summary"]
    got = {key: summary[key] for key in expected}
    if got != dict(expected):
        raise BenchError(f"plan summary {got}, expected {dict(expected)}")


def bench_plan(n: int, repeat: int, octo: Octo) -> PlanResult:
    # Sizes above 10,000 run after the smaller ones have warmed every cache.
    warmup = n <= 10_000
    with tempfile.TemporaryDirectory(prefix=f"bench-plan-{n}-") as tmp:
        root = Path(tmp)
        progress(f"plan N={n:,}: generating inputs and seeding the sandbox")
        inputs = plan_inputs(root / "config", n)
        (root / "ours").mkdir()
        (root / "floor").mkdir()
        app = create_app(seed=inputs.seed, admin_token=ADMIN_TOKEN)
        try:
            with running_server(app) as url:
                env = cli_env(url)
                plan = [*tool_argv(), "plan", "--format", "json", str(root / "config")]
                floor = [
                    sys.executable,
                    str(HERE / "floor.py"),
                    url,
                    API_KEY,
                    *map(str, inputs.files),
                ]
                progress(f"plan N={n:,}: inbound-sync plan and its floor, in turn, x{repeat}")
                (ours, last), (least, _) = alternating(
                    [
                        functools.partial(measure, plan, env=env, cwd=root / "ours"),
                        functools.partial(measure, floor, env=env, cwd=root / "floor"),
                    ],
                    repeat,
                    warmup=warmup,
                )
                check_plan_output(last.stdout, inputs.expected)
        finally:
            app.state.sandbox.close()
        octodns = None
        if octo.sync is not None:
            config = octodns_inputs(root / "octodns", n)
            argv = [str(octo.sync), "--config-file", str(config), "--quiet"]
            progress(f"plan N={n:,}: octoDNS x{repeat}")
            octodns, last = repeated(
                lambda: measure(argv, env=os.environ, cwd=config.parent), repeat, warmup=warmup
            )
            check_octodns_output(last.stdout, inputs.expected)
    return PlanResult(n, ours, least, octodns, octo.note)


# -- provenance ----------------------------------------------------------------------------------

# git reads no user or system config, so that the history built is the same on every machine.
GIT_ISOLATED = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


class ProvenanceResult(NamedTuple):
    n: int
    outside: Sample
    inside: Sample


def git(repo: Path, *args: str, author: str = "Priya", date: str = "2026-03-01T09:00:00Z") -> None:
    env = {**os.environ, **GIT_ISOLATED, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    env.update(GIT_AUTHOR_NAME=author, GIT_COMMITTER_NAME=author)
    env.update(GIT_AUTHOR_EMAIL="team@example.com", GIT_COMMITTER_EMAIL="team@example.com")
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def commit_history(repo: Path, files: Sequence[Path]) -> None:
    """Two commits, as a config's history has: every file by one author, then a tenth of the
    entries given a description by another, so that blame has more than one commit to tell."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import the account (#1)")
    for path in files:
        lines = path.read_text().splitlines(keepends=True)
        starts = [i for i, line in enumerate(lines) if line.startswith("  - number:")]
        for count, start in enumerate(reversed(starts)):
            if count % 10 == 0:
                lines.insert(start + 1, "    description: Bangalore\n")
        path.write_text("".join(lines))
    message = "describe the lines (#2)"
    git(repo, "commit", "-q", "-am", message, author="Bob", date="2026-03-05T10:00:00Z")


def bench_provenance(n: int, repeat: int) -> ProvenanceResult:
    """The same plan with the config inside a git work tree and outside any."""
    with tempfile.TemporaryDirectory(prefix=f"bench-provenance-{n}-") as tmp:
        root = Path(tmp)
        progress(f"provenance N={n:,}: generating inputs and a git history")
        for side in ("outside", "inside"):
            (root / side).mkdir()
        inputs = plan_inputs(root / "outside" / "config", n)
        shutil.copytree(root / "outside" / "config", root / "inside" / "config")
        commit_history(root / "inside", sorted((root / "inside" / "config").glob("*.yaml")))
        app = create_app(seed=inputs.seed, admin_token=ADMIN_TOKEN)
        try:
            with running_server(app) as url:
                # The copy outside a work tree must not find one above the temporary directory.
                env = {**cli_env(url), "GIT_CEILING_DIRECTORIES": str(root)}
                runs = [
                    functools.partial(
                        measure,
                        [*tool_argv(), "plan", "--format", "json", "config"],
                        env=env,
                        cwd=root / side,
                    )
                    for side in ("outside", "inside")
                ]
                progress(f"provenance N={n:,}: outside and inside a git work tree, x{repeat}")
                (outside, _), (inside, last) = alternating(runs, repeat, warmup=True)
                check_plan_output(last.stdout, inputs.expected)
                check_provenance_output(last.stdout)
        finally:
            app.state.sandbox.close()
    return ProvenanceResult(n, outside, inside)


def check_provenance_output(stdout: Path) -> None:
    """Inside the work tree every change names the commit that last set its entry."""
    changes = json.loads(stdout.read_text())["changes"]
    unknown = [c for c in changes if c["source"] and not c["provenance"]["git"]["commit"]]
    if unknown:
        raise BenchError(f"{len(unknown)} changes without a commit, e.g. {unknown[0]['number']}")


# -- apply -------------------------------------------------------------------------------------


class WriteClock:
    """Wraps the sandbox app to time the writes: from the first received to the last answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.first: float | None = None
        self.last: float | None = None

    def reset(self) -> None:
        self.first = self.last = None

    @property
    def window_s(self) -> float:
        return 0.0 if self.first is None or self.last is None else self.last - self.first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        write = scope["type"] == "http" and scope["method"] != "GET"
        if write and self.first is None:
            self.first = time.perf_counter()
        await self.app(scope, receive, send)
        if write:
            self.last = time.perf_counter()


class ApplyResult(NamedTuple):
    concurrency: int
    ideal_s: float
    ours: Sample
    writes_s: float
    floor: Sample


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


def check_apply_traffic(stats: Mapping[str, Any], changes: int) -> None:
    """Every change written once; the account listed twice (plan, verify), never per change."""
    lists = stats["requests"].get("GET /inbound/list", 0)
    if stats["writes"] != changes or lists != 2:
        raise BenchError(
            f"apply made {stats['writes']} writes and {lists} list calls; expected {changes} and 2"
        )


def bench_apply(
    changes: int, latency_ms: int, concurrencies: Sequence[int], repeat: int
) -> list[ApplyResult]:
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        root = Path(tmp)
        seed = apply_inputs(root / "config", changes)
        app = create_app(seed=seed, admin_token=ADMIN_TOKEN, latency_ms=latency_ms)
        clock = WriteClock(app)
        try:
            with running_server(clock) as url:
                return [
                    apply_case(root, url, clock, app.state.sandbox, changes, latency_ms, c, repeat)
                    for c in concurrencies
                ]
        finally:
            app.state.sandbox.close()


def apply_case(
    root: Path,
    url: str,
    clock: WriteClock,
    sandbox: Any,
    changes: int,
    latency_ms: int,
    concurrency: int,
    repeat: int,
) -> ApplyResult:
    """`apply` from the seeded account and the bare-httpx floor, in turn, `repeat` times."""
    env = cli_env(url)
    ours = [*tool_argv(), "apply", "--auto-approve", "--allow-destructive"]
    ours += ["--concurrency", str(concurrency), "--format", "json", str(root / "config")]
    floor = [sys.executable, str(HERE / "apply_floor.py"), url, API_KEY]
    floor += [str(changes), str(concurrency)]
    progress(f"apply: {changes:,} changes at {latency_ms} ms, concurrency {concurrency} x{repeat}")
    samples, windows, floors = [], [], []
    for _ in range(repeat):
        sandbox.reset()
        clock.reset()
        samples.append(measure(ours, env=env, cwd=root).sample)
        windows.append(clock.window_s)
        check_apply_traffic(sandbox.stats(), changes)
        sandbox.reset()
        floors.append(measure(floor, env=env, cwd=root).sample)
    ideal = changes * latency_ms / 1000 / concurrency
    return ApplyResult(
        concurrency, ideal, median(samples), statistics.median(windows), median(floors)
    )


# -- start-up ------------------------------------------------------------------------------------


class StartupResult(NamedTuple):
    command: str
    sample: Sample


def bench_startup(repeat: int) -> list[StartupResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp)
        one = root / "one.yaml"
        one.write_text(
            common_yaml() + "numbers:\n" + entry_yaml("+91 80 4431 9240", {"assistant": "a0"})
        )
        commands = (
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("inbound-sync --version", [*tool_argv(), "--version"]),
            ("inbound-sync --help", [*tool_argv(), "--help"]),
            ("inbound-sync validate (1 number)", [*tool_argv(), "validate", str(one)]),
        )
        for name, argv in commands:
            progress(f"start-up: {name} x{repeat}")
            run = functools.partial(measure, argv, env=os.environ, cwd=root)
            sample, _ = repeated(run, repeat, warmup=True)
            results.append(StartupResult(name, sample))
    return results


# -- the report ------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with padded columns, readable as plain text too."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def secs(value: float) -> str:
    return f"{value:.2f}"


def mib(value: float) -> str:
    return f"{value:.0f}"


def share(ideal: float, actual: float) -> str:
    return f"{100 * ideal / actual:.0f}%" if actual else "-"


def plan_table(results: Sequence[PlanResult]) -> str:
    headers = ["N", "plan s", "plan MiB", "floor s", "floor MiB", "plan / floor"]
    headers += ["octoDNS s", "octoDNS MiB", "octoDNS / plan"]
    rows = []
    for r in results:
        row = [f"{r.n:,}", secs(r.ours.wall_s), mib(r.ours.peak_mib)]
        row += [
            secs(r.floor.wall_s),
            mib(r.floor.peak_mib),
            f"{r.ours.wall_s / r.floor.wall_s:.2f}x",
        ]
        if r.octodns is None:
            row += ["-", "-", r.octodns_note]
        else:
            octo = r.octodns
            row += [secs(octo.wall_s), mib(octo.peak_mib), f"{octo.wall_s / r.ours.wall_s:.1f}x"]
        rows.append(row)
    return table(headers, rows)


def apply_table(results: Sequence[ApplyResult]) -> str:
    headers = ["concurrency", "ideal s", "apply s", "ideal / apply", "apply MiB"]
    headers += ["writes s", "ideal / writes", "httpx floor s", "ideal / floor"]
    rows = [
        [
            str(r.concurrency),
            secs(r.ideal_s),
            secs(r.ours.wall_s),
            share(r.ideal_s, r.ours.wall_s),
            mib(r.ours.peak_mib),
            secs(r.writes_s),
            share(r.ideal_s, r.writes_s),
            secs(r.floor.wall_s),
            share(r.ideal_s, r.floor.wall_s),
        ]
        for r in results
    ]
    return table(headers, rows)


def provenance_table(results: Sequence[ProvenanceResult]) -> str:
    headers = ["N", "outside git s", "in git s", "overhead", "outside MiB", "in git MiB"]
    rows = [
        [
            f"{r.n:,}",
            secs(r.outside.wall_s),
            secs(r.inside.wall_s),
            f"{100 * (r.inside.wall_s / r.outside.wall_s - 1):.1f}%",
            mib(r.outside.peak_mib),
            mib(r.inside.peak_mib),
        ]
        for r in results
    ]
    return table(headers, rows)


def startup_table(results: Sequence[StartupResult]) -> str:
    base = results[0].sample.wall_s
    rows = [
        [
            r.command,
            f"{1000 * r.sample.wall_s:.0f}",
            mib(r.sample.peak_mib),
            f"{r.sample.wall_s / base:.1f}x",
        ]
        for r in results
    ]
    return table(["command", "ms", "MiB", "vs python -c pass"], rows)


class Target(NamedTuple):
    text: str
    measured: str
    met: bool | None  # None: not measured in this run


def provenance_targets(results: Sequence[ProvenanceResult]) -> list[Target]:
    mid = next((r for r in results if r.n == 10_000), None)
    overhead = mid.inside.wall_s / mid.outside.wall_s - 1 if mid else None
    return [
        verdict(
            "provenance adds at most 10% to a plan of 10,000",
            overhead,
            "{:.1%}",
            lambda v: v <= 0.10,
        )
    ]


def plan_targets(plans: Sequence[PlanResult]) -> list[Target]:
    by_n = {r.n: r for r in plans}
    mid, big = by_n.get(10_000), by_n.get(100_000)
    ratio = mid.ours.wall_s / mid.floor.wall_s if mid else None
    octo = mid.octodns.wall_s / mid.ours.wall_s if mid and mid.octodns else None
    return [
        verdict("plan at 10,000 within 1.5x the floor", ratio, "{:.2f}x", lambda v: v <= 1.5),
        verdict("plan at 10,000 5x faster than octoDNS", octo, "{:.1f}x", lambda v: v >= 5),
        verdict(
            "plan at 100,000 under 10 s", big and big.ours.wall_s, "{:.2f} s", lambda v: v < 10
        ),
        verdict(
            "plan at 100,000 under 500 MiB",
            big and big.ours.peak_mib,
            "{:.0f} MiB",
            lambda v: v < 500,
        ),
    ]


def verdict(text: str, value: float | None, form: str, good: Callable[[float], bool]) -> Target:
    if value is None:
        return Target(text, "not run", None)
    return Target(text, form.format(value), good(value))


def other_targets(
    args: argparse.Namespace, applies: Sequence[ApplyResult], startup: Sequence[StartupResult]
) -> list[Target]:
    full_apply = (args.apply_changes, args.latency_ms) == TARGET_APPLY
    eight = next((r for r in applies if r.concurrency == 8), None) if full_apply else None
    found = [
        verdict(
            "apply at concurrency 8 reaches 80% of ideal",
            eight and eight.ideal_s / eight.ours.wall_s,
            "{:.0%}",
            lambda v: v >= 0.8,
        ),
    ]
    for r in startup[1:3]:
        name = r.command.removeprefix("inbound-sync ")
        found.append(
            verdict(
                f"{name} within 150 ms", 1000 * r.sample.wall_s, "{:.0f} ms", lambda v: v <= 150
            )
        )
    return found


def targets_table(found: Sequence[Target]) -> str:
    words = {True: "yes", False: "NO", None: "n/a"}
    return table(["target", "measured", "met"], [[t.text, t.measured, words[t.met]] for t in found])


def machine() -> str:
    """CPUs, CPU model, memory, OS and Python: what the README records beside the tables."""
    info = {"model name": "unknown CPU", "MemTotal": "0 kB"}
    for source in ("/proc/cpuinfo", "/proc/meminfo"):
        try:
            lines = Path(source).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip() in info and value.strip():
                info[key.strip()] = value.strip()
    memory = int(info["MemTotal"].split()[0]) / 1024 / 1024
    return (
        f"{os.cpu_count()} CPUs ({info['model name']}), {memory:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def report(
    args: argparse.Namespace,
    plans: Sequence[PlanResult],
    provenance: Sequence[ProvenanceResult],
    applies: Sequence[ApplyResult],
    startup: Sequence[StartupResult],
    fleet: FleetResult | None = None,
) -> str:
    from fleet_bench import fleet_table, within_target

    command = "python benchmarks/bench.py" + (" --smoke" if args.smoke else "")
    parts = [
        f"Machine: {machine()}",
        f"Command: {command} (medians of {args.repeat} runs, 3 at N >= 100,000)",
    ]
    if plans:
        parts += [
            "### Plan: `inbound-sync plan --format json`, 10% differ, 5% missing, 5% extra",
            plan_table(plans),
            "Floor: one Python process that fetches and decodes the list, reads the YAML with "
            "PyYAML's C loader and parses and validates every number (benchmarks/floor.py). "
            "octoDNS: octodns-sync dry run, YamlProvider to YamlProvider, PlanJson output.",
        ]
    if provenance:
        parts += [
            "### Provenance: the same plan in a git work tree and outside one",
            provenance_table(provenance),
            "in git: the config committed in two commits, so that every change is blamed (one "
            "`git blame` per file with changes); outside git: the same files where no work "
            "tree is found.",
        ]
    if applies:
        parts += [
            f"### Apply: {args.apply_changes:,} changes, {args.latency_ms} ms per request",
            apply_table(applies),
            "ideal = changes x latency / concurrency; writes s = first write received to last "
            "answered, at the sandbox (apply s also holds start-up, reading the config, two list "
            "calls and the verification); httpx floor = a bare httpx client sending as many "
            "writes (benchmarks/apply_floor.py).",
        ]
    if startup:
        parts += ["### Start-up", startup_table(startup)]
    found = (
        plan_targets(plans) + provenance_targets(provenance) + other_targets(args, applies, startup)
    )
    if fleet is not None:
        parts += [
            "### Fleet: `inbound-sync plan --fleet`, one sandbox, 10% differ, 5% missing, "
            "5% extra in each target",
            fleet_table(fleet),
            "single = `plan --format json DIR` of one target with its key; reads = one list "
            "call of each target from the benchmark's process; target = 1.3 x the slowest "
            "single + the reads of the other targets.",
        ]
        met = within_target(fleet)
        found.append(
            Target(
                "fleet plan of 20 x 5,000 within 1.3x the slowest single + the other reads",
                "not run" if met is None else f"{fleet.fleet.wall_s:.2f} s of {fleet.bound:.2f} s",
                met,
            )
        )
    parts += ["### Targets", targets_table(found)]
    return "\n\n".join(parts)


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmarks of inbound-sync (see the docstring).")
    parser.add_argument("--smoke", action="store_true", help="N = 200, a tiny apply, no octoDNS")
    parser.add_argument("--sizes", default="1000,10000,100000", help="plan sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (3 at N >= 100,000)")
    parser.add_argument("--no-octodns", action="store_true", help="skip the octoDNS comparison")
    parser.add_argument("--apply-changes", type=int, default=TARGET_APPLY[0])
    parser.add_argument("--latency-ms", type=int, default=TARGET_APPLY[1])
    parser.add_argument(
        "--provenance-sizes", default="10000", help="plan sizes of the provenance case"
    )
    parser.add_argument("--concurrency", default="1,4,8,16", help="apply concurrencies")
    parser.add_argument("--apply-repeat", type=int, default=3, help="runs per apply case")
    parser.add_argument("--fleet", default="20x5000", help="fleet: TARGETSxNUMBERS per target")
    parser.add_argument("--fleet-repeat", type=int, default=3, help="runs per fleet case")
    parser.add_argument(
        "--only", choices=["plan", "apply", "startup", "fleet"], help="run one part alone"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat, args.no_octodns = "200", 2, True
        args.provenance_sizes = "200"
        args.apply_changes, args.latency_ms, args.concurrency, args.apply_repeat = 40, 2, "1,8", 1
        args.fleet, args.fleet_repeat = "3x200", 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here: fleet_bench imports this module's helpers.
    from fleet_bench import bench_fleet

    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the run in progress and the sandbox are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.no_octodns or args.only not in (None, "plan"):
        octo = Octo(None, "skipped (smoke run)" if args.smoke else "skipped (--no-octodns)")
    else:
        octo = prepare_octodns(OCTODNS_VENV)
    wanted = {args.only} if args.only else {"plan", "apply", "startup", "fleet"}
    startup = bench_startup(3 if args.smoke else 10) if "startup" in wanted else []
    plans = [
        bench_plan(n, args.repeat if n < 100_000 else min(args.repeat, 3), octo)
        for n in (int(s) for s in args.sizes.split(","))
        if "plan" in wanted
    ]
    provenance = [
        bench_provenance(n, args.repeat)
        for n in (int(s) for s in args.provenance_sizes.split(","))
        if "plan" in wanted
    ]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    applies = (
        bench_apply(args.apply_changes, args.latency_ms, concurrencies, args.apply_repeat)
        if "apply" in wanted
        else []
    )
    count, _, n = args.fleet.partition("x")
    fleet = bench_fleet(int(count), int(n), args.fleet_repeat) if "fleet" in wanted else None
    print(report(args, plans, provenance, applies, startup, fleet))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
