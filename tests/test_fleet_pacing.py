"""`apply --fleet` at the APIs' pace: one pacer per host whatever the number of targets on it,
the rate of the flag, the variable or the targets' configs, 429s that are no attempts within
the run's deadline, and what the progress, the report and the audit log say about it.

The end-to-end tests run the CLI against one sandbox on a loopback socket whose tenants are the
targets, rate-limited per API key as the vendor limits an account.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_support import (
    BRAND_A_ASSISTANT,
    BRAND_B_ASSISTANT,
    FLEET_KEYS,
    FLEET_SEED,
    config_text,
    copy_example,
    target,
    write_fleet,
)
from inbound_sync.api import ApiKey, ConnectionSettings
from inbound_sync.api.pacing import Pacer, PauseEvent, host_of
from inbound_sync.cli.apply import Options
from inbound_sync.cli.fleet_pace import Paced, Pacing, host_rates, progress
from inbound_sync.sandbox import Sandbox, create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import account
from sandbox_fixtures import controller

pytestmark = pytest.mark.socket


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Sandbox, str]]:
    app = create_app(seed=FLEET_SEED)
    with running_server(app) as url:
        yield controller(app), url
    controller(app).close()


@pytest.fixture
def sandbox(server, monkeypatch) -> Iterator[Sandbox]:
    sandbox, _ = server
    sandbox.reset()
    for name, value in FLEET_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INBOUND_SYNC_MAX_RATE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    yield sandbox
    # The limit outlives reset(): lift it for the next test.
    sandbox.set_rate_limit(None)


@pytest.fixture
def example(server, sandbox, tmp_path) -> str:
    _, url = server
    return str(copy_example(tmp_path, url))


def numbers(start: int, count: int) -> list[str]:
    return [f"+9180441{i:05d}" for i in range(start, start + count)]


def two_brands(root: Path, url: str, rates: dict[str, str | None], count: int = 4) -> str:
    """brand-a and brand-b on one host, each assigning `count` new numbers, each config with
    its `apply: max_rate` when `rates` gives one."""
    configs = {}
    for offset, (name, assistant) in enumerate(
        [("brand-a", BRAND_A_ASSISTANT), ("brand-b", BRAND_B_ASSISTANT)]
    ):
        text = config_text(numbers(100 * offset, count), assistant)
        rate = rates.get(name)
        configs[name] = text + (f"apply:\n  max_rate: {rate}\n" if rate else "")
    targets = {
        "brand-a": target(url, "INBOUND_SYNC_KEY_BRAND_A", "brand-a/"),
        "brand-b": target(url, "INBOUND_SYNC_KEY_BRAND_B", "brand-b/"),
    }
    return str(write_fleet(root, targets, configs))


def log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# Which rate each host gets: pure


def test_the_flag_or_the_variable_sets_every_hosts_rate() -> None:
    urls = {"a": "https://api.example.test", "b": "https://other.example.test/v1"}
    assert host_rates(urls, {"a": 0.5, "b": None}, 3.0) == {
        "https://api.example.test:443": 3.0,
        "https://other.example.test:443": 3.0,
    }


def test_targets_on_one_host_get_the_lowest_rate_their_configs_ask_for() -> None:
    urls = {
        "a": "https://api.example.test",
        "b": "https://API.example.test:443/",
        "c": "https://api.example.test/v2",
        "d": "https://staging.example.test",
    }
    rates = host_rates(urls, {"a": None, "b": 4.0, "c": 2.5, "d": None}, None)
    assert rates == {"https://api.example.test:443": 2.5, "https://staging.example.test:443": None}


def test_targets_on_one_host_share_one_pacer_and_other_hosts_get_their_own() -> None:
    def on(url: str) -> ConnectionSettings:
        return ConnectionSettings(base_url=url, api_key=ApiKey("k"))

    settings = {
        "prod-a": on("https://api.example.test"),
        "prod-b": on("https://api.example.test/v1"),
        "staging": on("https://staging.example.test"),
    }
    options = Options(None, True, False, 8, "text", None, None)
    pacing = Pacing.of(settings, {"prod-a": 2.0, "prod-b": None, "staging": 5.0}, options)
    shared = pacing.shared()
    one = shared["https://api.example.test"]["pacer"]
    assert shared["https://api.example.test/v1"]["pacer"] is one
    other = shared["https://staging.example.test"]["pacer"]
    assert one is not other
    assert pacing.by_host == {
        host_of("https://api.example.test"): one,
        host_of("https://staging.example.test"): other,
    }
    assert [(p.settings.max_rate, p.settings.concurrency) for p in (one, other)] == [
        (2.0, 8),
        (5.0, 8),
    ]


# Which rate applies, end to end


@pytest.mark.parametrize(
    ("flag", "env", "rates", "refused"),
    [
        (None, None, {"brand-a": "4"}, False),
        (None, None, {"brand-a": "4", "brand-b": "1000"}, False),
        (None, "4", {"brand-a": "1000", "brand-b": "1000"}, False),
        ("1000", "4", {"brand-a": "4", "brand-b": "4"}, True),
    ],
    ids=["one-config", "lowest-config", "env-over-configs", "flag-over-all"],
)
def test_the_targets_on_one_host_share_the_rate_of_the_flag_the_variable_or_their_configs(
    server, sandbox, run_cli, tmp_path, monkeypatch, flag, env, rates, refused
) -> None:
    # Five requests a second per account, two at a time (so that two requests sent 250 ms apart
    # and delayed differently on a busy machine still pass): a host paced at 4 a second, for both
    # accounts together, is never refused; without a rate, 8 writes at once are.
    sandbox.set_rate_limit({"rate": 5, "burst": 2})
    if env is not None:
        monkeypatch.setenv("INBOUND_SYNC_MAX_RATE", env)
    fleet = two_brands(tmp_path, server[1], rates)
    result = run_cli(
        "apply", "--fleet", fleet, "--auto-approve", *(["--max-rate", flag] * bool(flag))
    )
    assert result.code == 0, result.err
    assert "Fleet: 8 done, 0 failed, 0 skipped; 2 of 2 targets converged." in result.out
    assert bool(sandbox.stats()["rate_limited"]) is refused


def test_a_saved_fleet_plan_keeps_the_configs_rates(server, sandbox, run_cli, tmp_path) -> None:
    fleet = two_brands(tmp_path, server[1], {"brand-a": "4", "brand-b": "4"})
    saved = tmp_path / "plan.json"
    assert run_cli("plan", "--fleet", fleet, "--out", str(saved)).code == 0
    sandbox.set_rate_limit({"rate": 5, "burst": 1})
    result = run_cli("apply", "--fleet", fleet, "--plan", str(saved))
    assert result.code == 0, result.err
    assert sandbox.stats()["rate_limited"] == {}


def test_a_bad_max_rate_in_the_environment_is_a_usage_error_before_any_request(
    sandbox, example, run_cli, monkeypatch
) -> None:
    monkeypatch.setenv("INBOUND_SYNC_MAX_RATE", "fast")
    result = run_cli("apply", "--fleet", example, "--auto-approve")
    assert result.code == 1
    assert result.err == (
        "Error: INBOUND_SYNC_MAX_RATE must be a number of requests per second greater than 0"
        " (such as 2 or 0.5)\n"
    )
    assert sandbox.stats()["requests"] == {}


# 429s, pauses and what is said of them


def test_a_429_is_no_attempt_while_the_api_keeps_asking_to_wait(sandbox, example, run_cli) -> None:
    # Seven 429s in a row for staging's one assign: more than the five attempts of a request.
    sandbox.add_fault(
        {"kind": "rate_limit", "match": "POST /inbound/assign", "retry_after": "0.05", "count": 7}
    )
    result = run_cli(
        "apply", "--fleet", example, "--target", "staging", "--auto-approve", "--format", "json"
    )
    assert result.code == 0, result.out + result.err
    assert "918044319250" in {r.normalized for r in account(sandbox, "staging").rows}
    report = json.loads(result.out)
    assert report["rate_limit"]["answered_429"] == 7
    assert report["rate_limit"]["paused_s"] >= 0.35
    assert report["targets"]["staging"]["rate_limit"]["answered_429"] == 7


def test_pauses_are_shown_counted_and_logged_per_target_and_for_the_fleet(
    server, sandbox, example, run_cli, tmp_path
) -> None:
    sandbox.add_fault({"kind": "rate_limit", "match": "POST /inbound/assign", "count": 1})
    log = tmp_path / "audit.jsonl"
    result = run_cli(
        "apply", "--fleet", example, "--auto-approve", "--concurrency", "1", "--log-file", str(log)
    )
    assert result.code == 0, result.err
    said = [line for line in result.err.splitlines() if line.split(":")[0] not in FLEET_TARGETS]
    assert said == [
        "Paused: waiting for the API's rate limit (Retry-After 1 s); every request waits.",
        "Resumed after a pause of 1 s for the API's rate limit.",
    ]
    # The 429 answered one target's assign; the pause held every target on the host.
    limited = [e for e in log_lines(log) if e["status"] == 429]
    assert len(limited) == 1
    assert (
        result.out.count(
            "\n  Rate limit: 1 answer 429 from the API; every request paused 1 s in all.\n"
        )
        == 1
    )
    assert "Rate limit: 1 answer 429 over the fleet; requests paused 1 s in all." in result.out

    entries = log_lines(log)
    (pause,) = [e for e in entries if e["action"] == "pause"]
    assert (pause["duration"], pause["retry_after"], pause["host"]) == (
        1.0,
        True,
        host_of(server[1]),
    )
    summary = entries[-1]
    assert {k: summary[k] for k in ("action", "done", "failed", "skipped", "rate_limited")} == {
        "action": "summary",
        "done": 5,
        "failed": 0,
        "skipped": 0,
        "rate_limited": 1,
    }
    assert summary["paused"] >= 1.0
    assert summary["deadline_passed"] is False


FLEET_TARGETS = {"brand-a", "brand-b", "staging"}


def test_with_several_hosts_a_pause_line_names_its_host(server, sandbox, run_cli, tmp_path) -> None:
    # localhost and 127.0.0.1 are two hosts to the client, and one sandbox.
    _, url = server
    other = url.replace("127.0.0.1", "localhost")
    targets = {
        "brand-a": target(url, "INBOUND_SYNC_KEY_BRAND_A", "brand-a/"),
        "staging": target(other, "INBOUND_SYNC_KEY_STAGING", "staging/"),
    }
    configs = {
        "brand-a": config_text(numbers(0, 1), BRAND_A_ASSISTANT),
        "staging": config_text([], BRAND_A_ASSISTANT),
    }
    fleet = write_fleet(tmp_path, targets, configs)
    sandbox.add_fault({"kind": "rate_limit", "match": "POST /inbound/assign", "count": 1})
    result = run_cli("apply", "--fleet", str(fleet), "--auto-approve")
    assert result.code == 0, result.err
    assert (
        f"{host_of(url)}: Paused: waiting for the API's rate limit (Retry-After 1 s);"
        " every request waits."
    ) in result.err.splitlines()


def test_verbose_request_lines_name_their_target(sandbox, example, run_cli) -> None:
    result = run_cli("apply", "--fleet", example, "--auto-approve", "-v")
    assert result.code == 0, result.err
    requests = [line for line in result.err.splitlines() if " -> " in line]
    assert len(requests) == 11  # three lists, five writes, three lists
    assert all(" [target=" in line for line in requests)
    assert any(
        re.fullmatch(
            r"POST /inbound/assign -> 200 in .* \(attempt 1\) "
            r"\[target=staging action=assign number=\+918044319250 inbound_id=\S+\]",
            line,
        )
        for line in requests
    ), requests
    lists = [line for line in requests if line.startswith("GET /inbound/list")]
    assert sorted(line.rsplit("[", 1)[1] for line in lists) == [
        "target=brand-a]",
        "target=brand-a]",
        "target=brand-b]",
        "target=brand-b]",
        "target=staging]",
        "target=staging]",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_shows_the_pause_of_the_host(monkeypatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    pacer = Pacer()
    pacing = Pacing({host_of("https://api.example.test"): pacer}, {"a": "https://api.example.test"})
    with progress(4, Paced(0.0, pacing, None)):
        assert pacer.on_pause is not None
        pacer.on_pause(PauseEvent("begin", 30.0, asked=True))
        paused = terminal.getvalue()
    assert paused.rstrip().endswith("0%  waiting for the API's rate limit (Retry-After 30 s)")
    assert pacer.on_pause is None


# The run's deadline


def test_the_deadline_stops_every_target_and_a_rerun_converges(
    server, sandbox, run_cli, tmp_path
) -> None:
    # Two requests a second per account, one at a time: 2 x 15 assigns take 7.5 s at best.
    sandbox.set_rate_limit({"rate": 2, "burst": 1})
    fleet = two_brands(tmp_path, server[1], {}, count=15)
    log = tmp_path / "audit.jsonl"
    result = run_cli(
        "apply",
        "--fleet",
        fleet,
        "--auto-approve",
        "--timeout-total",
        "2",
        "--format",
        "json",
        "--log-file",
        str(log),
    )
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert report["deadline_passed"] is True
    assert report["summary"]["skipped"] > 0
    assert report["summary"]["failed"] == 0
    assert report["summary"]["done"] == sandbox.stats()["writes"]
    messages = {o["message"] for t in report["targets"].values() for o in t["outcomes"]}
    assert "not started: the run's deadline passed" in messages
    assert log_lines(log)[-1]["deadline_passed"] is True

    text = run_cli("apply", "--fleet", fleet, "--auto-approve", "--timeout-total", "0.2")
    assert text.code == 1
    assert "Stopped at the run's deadline: " in text.out
    assert "(not applied); 0 of 2 targets converged." in text.out

    sandbox.set_rate_limit(None)
    again = run_cli("apply", "--fleet", fleet, "--auto-approve")
    assert again.code == 0, again.err
    assert "2 of 2 targets converged." in again.out
    assert sandbox.stats()["writes"] == 30


def test_a_deadline_passed_while_the_accounts_are_read_writes_nothing(
    sandbox, example, run_cli
) -> None:
    sandbox.set_rate_limit({"rate": 0.01, "burst": 1, "retry_after": "3"})
    assert run_cli("list", "--fleet", example).code == 0  # each account's only token, for a while
    result = run_cli("apply", "--fleet", example, "--auto-approve", "--timeout-total", "0.5")
    assert result.code == 1
    lines = result.err.splitlines()
    start = lines.index(
        "Error: the run's deadline (--timeout-total 0.5 s) passed before every account could"
        " be read; nothing was written:"
    )
    assert [line.split(":")[0] for line in lines[start + 1 :]] == [
        "  brand-a",
        "  brand-b",
        "  staging",
    ]
    assert all("list the account failed (HTTP 429)" in line for line in lines[start + 1 :])
    assert sandbox.stats()["writes"] == 0
