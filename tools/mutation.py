"""Mutation testing of the core modules, one module at a time, each against its own tests.

mutmut takes one test selection per run, from [tool.mutmut] in pyproject.toml. So each module runs
in its own scratch directory, build/mutation/NAME, whose pyproject.toml is the project's with that
module and its tests filled in; `src` and `tests` there are links to the real ones. Each run is
niced, uses two worker processes and stops after a time limit; the score is then printed per module.

    python tools/mutation.py [--timeout SECONDS] [NAME ...]

A survivor can then be read with `cd build/mutation/NAME && mutmut show MUTANT`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation"
MAX_CHILDREN = 2
DEFAULT_TIMEOUT = 1800.0
# Linked into each scratch directory: the sources, the tests, and the files the tests read.
LINKED = ("src", "tests", "examples", "schemas")


class Target(NamedTuple):
    """A module to mutate and the tests that pin it."""

    name: str
    path: str
    tests: tuple[str, ...]


TARGETS = (
    Target(
        "phone",
        "src/inbound_sync/phone.py",
        ("tests/test_phone.py", "tests/test_phone_reuse.py", "tests/test_phone_pins.py"),
    ),
    Target(
        "planner",
        "src/inbound_sync/plan/planner.py",
        (
            "tests/test_planner.py",
            "tests/test_planner_properties.py",
            "tests/test_planner_pins.py",
        ),
    ),
    Target(
        "executor",
        "src/inbound_sync/apply/executor.py",
        (
            "tests/test_executor.py",
            "tests/test_account_view.py",
            "tests/test_interrupt.py",
            "tests/test_executor_interrupts.py",
            "tests/test_executor_deadline.py",
            "tests/test_executor_outcomes.py",
        ),
    ),
    Target(
        "resolve",
        "src/inbound_sync/config/resolve.py",
        (
            "tests/test_config.py",
            "tests/test_yaml_scalars.py",
            "tests/test_guards_hardening.py",
            "tests/test_resolve_pins.py",
        ),
    ),
    Target(
        "retry",
        "src/inbound_sync/api/retry.py",
        ("tests/test_api_retry.py", "tests/test_retry_pins.py"),
    ),
    Target(
        "errors",
        "src/inbound_sync/api/errors.py",
        (
            "tests/test_api_errors.py",
            "tests/test_api_retry.py",
            "tests/test_api_client.py",
            "tests/test_api_waits.py",
            "tests/test_errors_pins.py",
        ),
    ),
)

# What a mutant's status counts as: found by a test (a timeout is a mutant that made a test hang).
DETECTED = frozenset({"killed", "timeout", "caught by type check"})
_RESULT = re.compile(r"^\s+(\S+): (.+)$")


class Score(NamedTuple):
    """The outcome of one module's run, counted by status."""

    name: str
    counts: Counter[str]
    survivors: tuple[str, ...]
    finished: bool
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DETECTED)

    @property
    def percent(self) -> float:
        return 100.0 * self.detected / self.total if self.total else 0.0


def mutmut_config(target: Target) -> str:
    """The [tool.mutmut] table of one module's run."""
    tests = ", ".join(f'"{test}"' for test in target.tests)
    copied = ", ".join(f'"{name}"' for name in (*LINKED[2:], "conftest.py"))
    return (
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f'only_mutate = ["{target.path}"]\n'
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
        f"also_copy = [{copied}]\n"
    )


def without_table(text: str, table: str) -> str:
    """`text` (TOML) less the table named `table`, up to the next table header."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            skipping = line.strip() == f"[{table}]"
        if not skipping:
            kept.append(line)
    return "".join(kept)


def prepare(target: Target) -> Path:
    """A fresh scratch directory for one module: links to the sources, its own configuration."""
    work = SCRATCH / target.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in LINKED:
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copyfile(ROOT / "tools" / "mutation_conftest.py", work / "conftest.py")
    project = without_table((ROOT / "pyproject.toml").read_text(encoding="utf-8"), "tool.mutmut")
    (work / "pyproject.toml").write_text(project + "\n" + mutmut_config(target), encoding="utf-8")
    return work


def mutmut(*args: str) -> list[str]:
    """The mutmut command of this interpreter's environment, niced: the cores are shared."""
    return ["nice", "-n", "10", str(Path(sys.executable).parent / "mutmut"), *args]


def run(target: Target, timeout: float) -> Score:
    """Mutate one module and run its tests against every mutant, within `timeout` seconds."""
    work = prepare(target)
    start = time.monotonic()
    log = work / "mutmut.log"
    print(f"== {target.name}: {target.path} (log: {log.relative_to(ROOT)})", flush=True)
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            mutmut("run", "--max-children", str(MAX_CHILDREN)),
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            finished = process.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            finished = False
            print(f"   stopped after {timeout:.0f} s; the figures below are partial", flush=True)
    return results(target, work, finished, time.monotonic() - start)


def results(target: Target, work: Path, finished: bool, seconds: float) -> Score:
    """Every mutant's status, as `mutmut results --all` lists them."""
    listing = subprocess.run(
        mutmut("results", "--all", "true"), cwd=work, capture_output=True, text=True, check=False
    )
    statuses: dict[str, str] = {}
    for line in listing.stdout.splitlines():
        found = _RESULT.match(line)
        if found:
            statuses[found.group(1)] = found.group(2)
    survivors = tuple(sorted(name for name, status in statuses.items() if status not in DETECTED))
    (work / "survivors.txt").write_text("".join(f"{s}\n" for s in survivors), encoding="utf-8")
    return Score(target.name, Counter(statuses.values()), survivors, finished, seconds)


def report(scores: list[Score]) -> str:
    """One line per module: mutants, detected, survived, the score, the time, other statuses."""
    header = f"{'module':<10} {'mutants':>7} {'killed':>7} {'survived':>8} {'score':>7} {'time':>6}"
    lines = [header + "  other"]
    for s in scores:
        other = ", ".join(
            f"{n} {status}"
            for status, n in sorted(s.counts.items())
            if status not in DETECTED and status != "survived"
        )
        partial = "" if s.finished else "  (partial: stopped or failed, see its log)"
        lines.append(
            f"{s.name:<10} {s.total:>7} {s.detected:>7} {s.counts['survived']:>8} "
            f"{s.percent:>6.1f}% {s.seconds:>5.0f}s  {other}{partial}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="modules to run (default: all)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per module")
    options = parser.parse_args(argv)
    unknown = set(options.names) - {t.name for t in TARGETS}
    if unknown:
        known = ", ".join(t.name for t in TARGETS)
        parser.error(f"unknown module {sorted(unknown)[0]!r}; known: {known}")
    chosen = [t for t in TARGETS if not options.names or t.name in options.names]
    scores = [run(target, options.timeout) for target in chosen]
    print()
    print(report(scores))
    for score in scores:
        if score.survivors:
            listed = (SCRATCH / score.name / "survivors.txt").relative_to(ROOT)
            print(f"{score.name}: the mutants not killed are listed in {listed}")
    return 0 if all(s.finished for s in scores) else 1


if __name__ == "__main__":
    raise SystemExit(main())
