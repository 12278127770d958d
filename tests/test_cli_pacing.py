"""`apply` at the API's pace: --max-rate, INBOUND_SYNC_MAX_RATE and the config's apply: block,
the run's deadline, and what the progress, the report and the audit log say about the pauses.

The end-to-end tests run the CLI against the sandbox on a loopback socket, rate-limited per API
key as the vendor limits an account.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from inbound_sync.api import PauseEvent
from inbound_sync.cli.apply import _Bar
from inbound_sync.sandbox import Sandbox
from reliability_support import run_main
from sandbox_fixtures import SUPPORT

pytestmark = pytest.mark.socket
ROOT = Path(__file__).resolve().parent.parent


def numbers_yaml(path: Path, count: int, extra: str = "") -> str:
    """A config assigning `count` numbers, none of them in the seed's account."""
    entries = "".join(
        f'  - number: "+9180441{i:05d}"\n    assistant: {SUPPORT}\n' for i in range(count)
    )
    path.write_text(f"version: 1\n{extra}numbers:\n{entries}", encoding="utf-8")
    return str(path)


def writes_limited(sandbox: Sandbox) -> int:
    return sum(n for route, n in sandbox.stats()["rate_limited"].items() if "GET" not in route)


# Bad values: usage errors, before any request


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "", "fast", "1e999"])
def test_a_bad_max_rate_is_a_usage_error(live_sandbox: Sandbox, tmp_path: Path, value: str) -> None:
    config = numbers_yaml(tmp_path / "inbound.yaml", 1)
    result = run_main("apply", config, "--auto-approve", "--max-rate", value)
    assert result.code == 1
    assert f"Invalid value for '--max-rate': {value!r} is not a number of requests per second" in (
        result.err
    )
    assert "Traceback" not in result.err
    assert live_sandbox.stats()["requests"] == {}


@pytest.mark.parametrize("value", ["0", "-2", "nan", "secret-token"])
def test_a_bad_max_rate_in_the_environment_is_a_usage_error_that_does_not_echo_it(
    live_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("INBOUND_SYNC_MAX_RATE", value)
    result = run_main("apply", numbers_yaml(tmp_path / "inbound.yaml", 1), "--auto-approve")
    assert result.code == 1
    assert result.err == (
        "Error: INBOUND_SYNC_MAX_RATE must be a number of requests per second greater than 0"
        " (such as 2 or 0.5)\n"
    )
    assert live_sandbox.stats()["requests"] == {}


@pytest.mark.parametrize("value", ["0", "-5", "never"])
def test_a_bad_timeout_total_is_a_usage_error(
    live_sandbox: Sandbox, tmp_path: Path, value: str
) -> None:
    config = numbers_yaml(tmp_path / "inbound.yaml", 1)
    result = run_main("apply", config, "--auto-approve", "--timeout-total", value)
    assert result.code == 1
    assert f"Invalid value for '--timeout-total': {value!r} is not a number of seconds" in (
        result.err
    )


def test_a_bad_max_rate_in_the_config_names_the_line(live_sandbox: Sandbox, tmp_path: Path) -> None:
    config = numbers_yaml(tmp_path / "inbound.yaml", 1, "apply:\n  max_rate: 0\n")
    result = run_main("apply", config, "--auto-approve")
    assert result.code == 1
    assert f"{config}:3: apply.max_rate: Input should be greater than 0" in result.err
    # The account may have been read while the config was parsed; nothing else was sent.
    assert set(live_sandbox.stats()["requests"]) <= {"GET /inbound/list"}


def test_two_files_must_agree_on_the_apply_block(live_sandbox: Sandbox, tmp_path: Path) -> None:
    first = numbers_yaml(tmp_path / "a.yaml", 1, "apply:\n  max_rate: 2\n")
    (tmp_path / "b.yaml").write_text("version: 1\napply:\n  max_rate: 3\n", encoding="utf-8")
    result = run_main("validate", first, str(tmp_path / "b.yaml"))
    assert result.code == 1
    assert f"b.yaml:2: apply: conflicts with the value set at {first}:2" in result.err


# Which rate applies: the flag, else the environment, else the config


def limited_to_five(sandbox: Sandbox) -> None:
    """Five requests a second, one at a time: a client paced at 4 a second is never refused."""
    sandbox.set_rate_limit({"rate": 5, "burst": 1})


@pytest.mark.parametrize(
    ("flag", "env", "config", "refused"),
    [
        (None, None, "4", False),
        (None, "4", "1000", False),
        ("4", "1000", "1000", False),
        ("1000", "4", "4", True),
    ],
    ids=["config", "env-over-config", "flag-over-both", "flag-fast"],
)
def test_the_flag_comes_first_then_the_environment_then_the_config(
    live_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    config: str,
    refused: bool,
) -> None:
    limited_to_five(live_sandbox)
    if env is not None:
        monkeypatch.setenv("INBOUND_SYNC_MAX_RATE", env)
    path = numbers_yaml(tmp_path / "inbound.yaml", 4, f"apply:\n  max_rate: {config}\n")
    result = run_main("apply", path, "--auto-approve", *(["--max-rate", flag] if flag else []))
    assert result.code == 0, result.err
    assert bool(live_sandbox.stats()["rate_limited"]) is refused


def test_a_saved_plan_keeps_the_configs_rate(live_sandbox: Sandbox, tmp_path: Path) -> None:
    config = numbers_yaml(tmp_path / "inbound.yaml", 4, "apply:\n  max_rate: 4\n")
    saved = tmp_path / "plan.json"
    assert run_main("plan", config, "--out", str(saved)).code == 0
    document = json.loads(saved.read_text())
    assert document["desired"]["max_rate"] == 4.0
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(document, schema)
    limited_to_five(live_sandbox)
    result = run_main("apply", "--plan", str(saved))
    assert result.code == 0, result.err
    assert live_sandbox.stats()["rate_limited"] == {}


# A rate-limited account, end to end


def test_apply_converges_under_the_apis_rate_limit_with_few_429s(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    # A limit the client, sharing this process with the server on a busy machine, surely passes.
    live_sandbox.set_rate_limit({"rate": 30})
    config = numbers_yaml(tmp_path / "inbound.yaml", 150)
    log = tmp_path / "audit.jsonl"
    result = run_main(
        "apply", config, "--auto-approve", "--concurrency", "2", "--log-file", str(log)
    )
    assert result.code == 0, result.err[-2000:]
    stats = live_sandbox.stats()
    assert stats["writes"] == 150
    # Every writer paused together, and the pace was learnt: at most 2% of writes refused.
    # (The benchmark shows the same at the default concurrency, over 1,000 writes.)
    limited = writes_limited(live_sandbox)
    assert 0 < limited <= 3
    pauses = [line for line in result.err.splitlines() if not line.startswith("[")]
    assert pauses[:2] == [
        "Paused: waiting for the API's rate limit (Retry-After 1 s); every request waits.",
        "Resumed after a pause of 1 s for the API's rate limit.",
    ]
    total = sum(stats["rate_limited"].values())
    assert f"Rate limit: {total} answer" in result.out
    assert "Converged: the account matches the desired state." in result.out
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(1 for e in entries if e["status"] == 429) == total
    assert [e["duration"] for e in entries if e["action"] == "pause"][:1] == [1.0]
    summary = entries[-1]
    assert (summary["action"], summary["done"], summary["rate_limited"]) == ("summary", 150, total)
    assert summary["paused"] >= 1.0


def test_the_deadline_stops_the_run_and_a_rerun_converges(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    # Two requests a second, one at a time: 30 assigns would take 15 s.
    live_sandbox.set_rate_limit({"rate": 2, "burst": 1})
    config = numbers_yaml(tmp_path / "inbound.yaml", 30)
    result = run_main("apply", config, "--auto-approve", "--timeout-total", "2", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["deadline_passed"] is True
    assert report["summary"]["skipped"] > 0
    assert report["summary"]["done"] == live_sandbox.stats()["writes"]
    assert report["summary"]["failed"] == 0
    assert "not started: the run's deadline passed" in {o["message"] for o in report["outcomes"]}

    live_sandbox.set_rate_limit(None)
    again = run_main("apply", config, "--auto-approve")
    assert again.code == 0, again.err
    assert "Converged" in again.out
    assert live_sandbox.stats()["writes"] == 30


def test_a_deadline_passed_while_the_account_is_read_writes_nothing(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    live_sandbox.set_rate_limit({"rate": 0.01, "burst": 1, "retry_after": "30"})
    config = numbers_yaml(tmp_path / "inbound.yaml", 2)
    assert run_main("list").code == 0  # the only token, for a while
    result = run_main("apply", config, "--auto-approve", "--timeout-total", "0.5")
    assert result.code == 1
    assert result.err.splitlines()[-1].startswith(
        "Error: the run's deadline (--timeout-total 0.5 s) passed before the account could be"
        " read; nothing was written: list the account failed (HTTP 429)"
    )
    assert live_sandbox.stats()["writes"] == 0


# The progress bar, on a terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_shows_the_pace_then_the_pause_then_the_pace_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal, clock = Terminal(), Clock()
    monkeypatch.setattr("sys.stderr", terminal)
    with _Bar(100, clock) as bar:
        clock.now = 5.0
        for _ in range(50):
            bar.outcome(None)  # type: ignore[arg-type]
        paced = terminal.getvalue()
        bar.pause(PauseEvent("begin", 30.0, asked=True))
        paused = terminal.getvalue()
        bar.pause(PauseEvent("end", 30.0))
        resumed = terminal.getvalue()
    assert paced.rstrip().endswith("50%  10/s, 0:05 left")
    assert paused.rstrip().endswith("50%  waiting for the API's rate limit (Retry-After 30 s)")
    assert resumed.rstrip().endswith("50%  10/s, 0:05 left")
