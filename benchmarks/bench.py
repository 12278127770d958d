"""Benchmarks of inbound-sync, each beside a baseline measured in the same run.

    plan      `inbound-sync plan --format json` at N numbers (10% differ, 5% missing, 5% extra),
              against its floor (floor.py) and, at 10,000, octoDNS planning a zone of as many
              records, the commands taking turns
    apply     bound by latency, by the client's CPU, and by the API's rate limit (apply_cases.py)
    provenance `plan --format json` at N numbers in a git work tree (one blame per config file
              with changes), against the same plan of a copy outside any work tree
    fleet     `plan --fleet` of TARGETS x N numbers on one sandbox, against each target alone
              (fleet_bench.py)
    start-up  --version, --help and validate of a one-number file, against `python -c pass`

Every case builds its own inputs in a temporary directory, runs as a subprocess (wall time, CPU
time and peak RSS of that process alone, see spawn.py), checks what it printed, is repeated, and
reports medians. The tables go to stdout, progress to stderr.

    python benchmarks/bench.py            # the full run (`make bench`), about 20 minutes
    python benchmarks/bench.py --smoke    # N = 200, tiny applies, no octoDNS (`make test`)
    python benchmarks/bench.py --baseline ../old/src   # also the rate-bound apply of that code
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from apply_cases import (
    CPU_TARGET,
    LATENCY_TARGET,
    RATE_TARGET,
    apply_report,
    apply_targets,
    baseline_path,
    bench_cpu,
    bench_latency,
    bench_rate,
)
from harness import (
    ADMIN_TOKEN,
    API_KEY,
    HERE,
    BenchError,
    Sample,
    Target,
    alternating,
    cli_env,
    common_yaml,
    entry_yaml,
    measure,
    mib,
    plan_inputs,
    plan_share,
    progress,
    repeated,
    secs,
    table,
    tool_argv,
    verdict,
)

from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server

if TYPE_CHECKING:
    from fleet_bench import FleetResult

OCTODNS_VENV = HERE / ".venv-octodns"
OCTODNS_SIZE = 10_000


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
    """plan, its floor and (at OCTODNS_SIZE) octoDNS, taking turns `repeat` times."""
    # Sizes above 10,000 run after the smaller ones have warmed every cache.
    warmup = n <= 10_000
    with tempfile.TemporaryDirectory(prefix=f"bench-plan-{n}-") as tmp:
        root = Path(tmp)
        progress(f"plan N={n:,}: generating inputs and seeding the sandbox")
        inputs = plan_inputs(root / "config", n)
        (root / "ours").mkdir()
        (root / "floor").mkdir()
        octo_run = None
        if octo.sync is not None and n == OCTODNS_SIZE:
            config = octodns_inputs(root / "octodns", n)
            argv = [str(octo.sync), "--config-file", str(config), "--quiet"]
            octo_run = functools.partial(measure, argv, env=os.environ, cwd=config.parent)
        app = create_app(seed=inputs.seed, admin_token=ADMIN_TOKEN)
        try:
            with running_server(app) as url:
                env = cli_env(url)
                plan = [*tool_argv(), "plan", "--format", "json", str(root / "config")]
                floor = [sys.executable, str(HERE / "floor.py"), url, API_KEY]
                floor += [str(f) for f in inputs.files]
                runs = [
                    functools.partial(measure, plan, env=env, cwd=root / "ours"),
                    functools.partial(measure, floor, env=env, cwd=root / "floor"),
                    *([octo_run] if octo_run is not None else []),
                ]
                names = "plan, its floor" + (" and octoDNS" if octo_run else "")
                progress(f"plan N={n:,}: {names}, in turn, x{repeat}")
                found = alternating(runs, repeat, warmup=warmup)
                check_plan_output(found[0][1].stdout, inputs.expected)
        finally:
            app.state.sandbox.close()
        octodns = None
        if octo_run is not None:
            octodns, last = found[2]
            check_octodns_output(last.stdout, inputs.expected)
    note = octo.note if octo.sync is None else f"only at {OCTODNS_SIZE:,}"
    return PlanResult(n, found[0][0], found[1][0], octodns, note)


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


def plan_targets(plans: Sequence[PlanResult]) -> list[Target]:
    by_n = {r.n: r for r in plans}
    small, mid, big = by_n.get(1_000), by_n.get(10_000), by_n.get(100_000)
    ratio = mid.ours.wall_s / mid.floor.wall_s if mid else None
    octo = mid.octodns.wall_s / mid.ours.wall_s if mid and mid.octodns else None
    large = big.ours.wall_s / big.floor.wall_s if big else None
    growth = None
    if small and big:
        growth = (big.ours.peak_mib - small.ours.peak_mib) * 1024 / (big.n - small.n)
    return [
        verdict("plan at 10,000 within 1.6x the floor", ratio, "{:.2f}x", lambda v: v <= 1.6),
        verdict("plan at 10,000 6x faster than octoDNS", octo, "{:.1f}x", lambda v: v >= 6),
        verdict("plan at 100,000 within 1.3x the floor", large, "{:.2f}x", lambda v: v <= 1.3),
        verdict(
            "plan peak memory, 1,000 to 100,000: at most 4 KiB more per number",
            growth,
            "{:.1f} KiB",
            lambda v: v <= 4,
        ),
    ]


def startup_targets(startup: Sequence[StartupResult]) -> list[Target]:
    found = []
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


def report(
    args: argparse.Namespace,
    plans: Sequence[PlanResult],
    provenance: Sequence[ProvenanceResult],
    applies: list[str],
    targets: list[Target],
    startup: Sequence[StartupResult],
    fleet: FleetResult | None = None,
) -> str:
    from fleet_bench import fleet_table, within_target

    command = "python benchmarks/bench.py" + (" --smoke" if args.smoke else "")
    if args.baseline:
        command += " --baseline SRC"
    parts = [
        f"Machine: {machine()}",
        f"Command: {command} (medians of {args.repeat} runs, 3 at N >= 100,000;"
        f" {args.apply_repeat} per apply case)",
    ]
    if plans:
        parts += [
            "### Plan: `inbound-sync plan --format json`, 10% differ, 5% missing, 5% extra",
            plan_table(plans),
            "Floor: one Python process that fetches and decodes the list, reads the YAML with "
            "PyYAML's C loader and parses and validates every number with phonenumbers, with the "
            "garbage collector tuned as the tool tunes it (benchmarks/floor.py). octoDNS: "
            "octodns-sync dry run, YamlProvider to YamlProvider, PlanJson output.",
        ]
    if provenance:
        parts += [
            "### Provenance: the same plan in a git work tree and outside one",
            provenance_table(provenance),
            "in git: the config committed in two commits, so that every change is blamed (one "
            "`git blame` per file with changes); outside git: the same files where no work "
            "tree is found.",
        ]
    parts += applies
    if startup:
        parts += ["### Start-up", startup_table(startup)]
    found = list(targets)
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
    parser.add_argument("--smoke", action="store_true", help="N = 200, tiny applies, no octoDNS")
    parser.add_argument("--sizes", default="1000,10000,100000", help="plan sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (3 at N >= 100,000)")
    parser.add_argument("--no-octodns", action="store_true", help="skip the octoDNS comparison")
    parser.add_argument("--apply-repeat", type=int, default=3, help="runs per apply case")
    parser.add_argument(
        "--baseline", metavar="SRC", help="the src directory of an earlier version to compare"
    )
    parser.add_argument(
        "--provenance-sizes", default="10000", help="plan sizes of the provenance case"
    )
    parser.add_argument("--fleet", default="20x5000", help="fleet: TARGETSxNUMBERS per target")
    parser.add_argument("--fleet-repeat", type=int, default=3, help="runs per fleet case")
    parser.add_argument(
        "--only", choices=["plan", "apply", "startup", "fleet"], help="run one part alone"
    )
    args = parser.parse_args(argv)
    args.latency = LATENCY_TARGET
    args.cpu = CPU_TARGET
    args.rate = RATE_TARGET
    if args.smoke:
        args.sizes, args.repeat, args.no_octodns, args.apply_repeat = "200", 2, True, 1
        args.latency, args.cpu, args.rate = (40, 2, 8), (40, 2), (40, 1000.0)
        args.provenance_sizes = "200"
        args.fleet, args.fleet_repeat = "3x200", 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here: fleet_bench imports this module's helpers.
    from fleet_bench import bench_fleet

    args = parse_args(argv)
    baseline = baseline_path(args.baseline)
    # SIGTERM unwinds like Ctrl-C, so that the run in progress and the sandbox are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = {args.only} if args.only else {"plan", "apply", "startup", "fleet"}
    if args.no_octodns or args.only not in (None, "plan"):
        octo = Octo(None, "skipped (smoke run)" if args.smoke else "skipped (--no-octodns)")
    else:
        octo = prepare_octodns(OCTODNS_VENV)
    startup = bench_startup(3 if args.smoke else 10) if "startup" in wanted else []
    sizes = [int(s) for s in args.sizes.split(",")] if "plan" in wanted else []
    plans = [
        bench_plan(n, args.repeat if n < 100_000 else min(args.repeat, 3), octo) for n in sizes
    ]
    provenance = [
        bench_provenance(n, args.repeat)
        for n in (int(s) for s in args.provenance_sizes.split(","))
        if "plan" in wanted
    ]
    targets = plan_targets(plans) + provenance_targets(provenance)
    applies: list[str] = []
    if "apply" in wanted:
        latency = bench_latency(*args.latency, args.apply_repeat)
        cpu = bench_cpu(*args.cpu, args.apply_repeat)
        rates = bench_rate(*args.rate, args.apply_repeat, baseline)
        applies = apply_report(latency, cpu, rates)
        targets += apply_targets(latency, cpu, rates)
    if startup:
        targets += startup_targets(startup)
    count, _, n = args.fleet.partition("x")
    fleet = bench_fleet(int(count), int(n), args.fleet_repeat) if "fleet" in wanted else None
    print(report(args, plans, provenance, applies, targets, startup, fleet))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
