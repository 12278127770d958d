"""What every benchmark case shares: running a command and measuring it, generated inputs, and
the Markdown tables of the report."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
OCTODNS_VENV = HERE / ".venv-octodns"
API_KEY = "bench-key"
ADMIN_TOKEN = "bench-admin"
NUMBERS_PER_FILE = 5_000
RUN_TIMEOUT_S = 900.0
ASSISTANTS = tuple(f"00000000-0000-4000-8000-{k:012d}" for k in range(5))
STRATEGIES = tuple(f"00000000-0000-4000-9000-{k:012d}" for k in range(2))


class BenchError(RuntimeError):
    """A measured run that did not do what the benchmark expects (exit code or output)."""


# -- measuring one subprocess ----------------------------------------------------------------


class Sample(NamedTuple):
    wall_s: float
    peak_mib: float
    cpu_s: float = 0.0


class Run(NamedTuple):
    sample: Sample
    stdout: Path
    code: int = 0


def measure(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, check: bool = True) -> Run:
    """Run `argv` to completion through spawn.py, which reports the command's own wall time,
    CPU time and peak RSS; a non-zero exit is a BenchError carrying the end of its stderr,
    unless `check` is False."""
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
    wall, peak_kib, code, cpu = result.read_text().split()
    if code != "0" and check:
        tail = err.read_text(errors="replace")[-2000:]
        raise BenchError(f"{shown(argv)} exited {code}:\n{tail}")
    return Run(Sample(float(wall), int(peak_kib) / 1024, float(cpu)), out, int(code))


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
        statistics.median(s.cpu_s for s in samples),
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


class Target(NamedTuple):
    text: str
    measured: str
    met: bool | None  # None: not measured in this run


def verdict(text: str, value: float | None, form: str, good: Callable[[float], bool]) -> Target:
    if value is None:
        return Target(text, "not run", None)
    return Target(text, form.format(value), good(value))
