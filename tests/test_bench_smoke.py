"""The benchmark script still runs: its smoke size prints every table, with a number in each cell.

Only the shape of the report is checked here; timings are for `make bench` to show, not to assert.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)?(x|%| ms| s| MiB)?$")
DIFFERENCE = re.compile(r"^(-?\d+\.\d+x?|-)$")


def sections(report: str) -> dict[str, list[list[str]]]:
    """Each '### heading' of the report with the body rows of the table under it."""
    found: dict[str, list[list[str]]] = {}
    heading = ""
    for line in report.splitlines():
        if line.startswith("### "):
            heading = line[4:].split(":")[0]
            found[heading] = []
        elif line.startswith("|") and not line.startswith("|-") and heading:
            found[heading].append([cell.strip() for cell in line.strip("|").split("|")])
    return {name: rows[1:] for name, rows in found.items()}  # without the header row


@pytest.fixture(scope="module")
def report() -> dict[str, list[list[str]]]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("Machine: ")
    return sections(done.stdout)


def numeric(cells: list[str]) -> bool:
    return all(NUMBER.match(cell) for cell in cells)


@pytest.mark.socket
def test_the_plan_row_has_our_time_the_floor_and_their_ratio(report):
    [row] = report["Plan"]
    assert row[0] == "200"
    assert numeric(row[1:6])
    assert row[-1] == "skipped (smoke run)"  # octoDNS is never installed by the smoke run


@pytest.mark.socket
def test_the_provenance_row_compares_a_plan_in_git_with_one_outside(report):
    [row] = report["Provenance"]
    assert row[0] == "200"
    assert numeric(row[1:3] + row[4:])
    assert re.fullmatch(r"-?\d+\.\d%", row[3])


@pytest.mark.socket
def test_the_apply_cases_are_bound_by_latency_cpu_and_the_rate_limit(report):
    [latency] = report["Apply, latency-bound"]
    assert numeric(latency)
    [cpu] = report["Apply, CPU per write"]
    # CPU seconds are measured; per-write figures are differences of two CPU times, which at the
    # smoke size (40 writes) can come out negative or zero, leaving no ratio ("-").
    assert numeric([cpu[i] for i in (0, 1, 2, 3, 5, 6)])
    assert all(DIFFERENCE.match(cpu[i]) for i in (4, 7, 8)), cpu
    [rate] = report["Apply, rate-bound"]
    assert rate[0] == "this code"
    assert numeric(rate[1:])


@pytest.mark.socket
def test_the_startup_rows_compare_the_cli_with_bare_python(report):
    rows = report["Start-up"]
    assert [row[0] for row in rows] == [
        "python -c pass",
        "inbound-sync --version",
        "inbound-sync --help",
        "inbound-sync validate (1 number)",
    ]
    assert all(numeric(row[1:]) for row in rows)


@pytest.mark.socket
def test_the_fleet_row_compares_the_fleet_plan_with_each_target_alone(report):
    [row] = report["Fleet"]
    assert row[0] == "3 x 200"
    assert numeric(row[1:])


@pytest.mark.socket
def test_every_target_gets_a_verdict(report):
    rows = report["Targets"]
    assert len(rows) == 12
    assert {row[2] for row in rows} <= {"yes", "NO", "n/a"}
    # The smoke size is not the size the plan, provenance, apply and fleet targets are stated for.
    assert [row[2] for row in rows[:9]] == ["n/a"] * 9
    assert rows[-1][2] == "n/a"
