"""Waits between attempts: each is announced before it starts, none is longer than the cap, and
Ctrl-C ends any of them at once.

A Retry-After beyond the cap (60 s) is not shortened and retried, which would only be refused
again after minutes of silence: the request fails at once, naming what the server asked for.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from api_support import OK_BODIES, START, WRITES, Harness, Op, list_op, route
from inbound_sync.api import RetryPolicy, WaitNotice, format_wait
from inbound_sync.errors import ApiError, ConnectionFailed, RateLimited, ServerError
from reliability_support import ACME_KEY, run_main, served

OK_LIST = httpx.Response(200, json=OK_BODIES["list"])


def _notice(**changes: object) -> WaitNotice:
    base = WaitNotice(
        seconds=3.0, operation="list the account", reason="HTTP 503", asked=False, attempt=1, tag={}
    )
    return base._replace(**changes)


class Announcing(Harness):
    """The usual harness, keeping every wait notice."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.notices: list[WaitNotice] = []
        self.options["on_wait"] = self.notices.append


def _announcing(*answers: httpx.Response | Exception, **options: object) -> Announcing:
    h = Announcing(**options)
    route(h, "GET", "/inbound/list").mock(side_effect=list(answers))
    return h


# A Retry-After beyond the cap


def test_a_retry_after_beyond_the_cap_fails_at_once_naming_the_servers_value() -> None:
    h = _announcing(httpx.Response(429, headers={"Retry-After": "999999"}), OK_LIST)
    error = h.fails(lambda c: c.list(label="list the account"), RateLimited)
    assert str(error) == (
        "list the account failed (HTTP 429): rate limited; the server asked to wait 999999 s"
        " (Retry-After: 999999), longer than the 60 s this tool waits"
    )
    assert (h.calls, h.sleeps, h.notices) == (1, [], [])


def test_an_http_date_an_hour_ahead_is_beyond_the_cap_too() -> None:
    when = format_datetime(START + timedelta(hours=1), usegmt=True)
    h = _announcing(httpx.Response(429, headers={"Retry-After": when}), OK_LIST)
    error = h.fails(list_op, RateLimited)
    assert f"asked to wait 3600 s (Retry-After: {when}), longer than the 60 s" in str(error)
    assert (h.calls, h.sleeps) == (1, [])


def test_a_5xx_read_asking_for_too_long_a_wait_fails_as_a_server_error() -> None:
    answer = httpx.Response(503, json={"detail": "maintenance"}, headers={"Retry-After": "7200"})
    h = _announcing(answer, OK_LIST)
    error = h.fails(list_op, ServerError)
    assert str(error).endswith(
        "(HTTP 503): maintenance; the server asked to wait 7200 s (Retry-After: 7200),"
        " longer than the 60 s this tool waits"
    )
    assert h.calls == 1


@pytest.mark.parametrize(("name", "method", "path", "op"), WRITES, ids=[w[0] for w in WRITES])
def test_a_write_asked_to_wait_too_long_was_certainly_not_applied(
    name: str, method: str, path: str, op: Op
) -> None:
    h = Harness()
    route(h, method, path).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "86400"}), OK_LIST]
    )
    error = h.fails(op, RateLimited)
    assert str(error).endswith("longer than the 60 s this tool waits; the change was not applied")
    assert h.calls == 1


def test_a_retry_after_at_the_cap_is_waited_for_and_announced() -> None:
    h = _announcing(httpx.Response(429, headers={"Retry-After": "60"}), OK_LIST)
    h.run(lambda c: c.list(label="list the account"))
    assert h.sleeps == [60.0]
    assert h.notices == [
        WaitNotice(60.0, "list the account", "HTTP 429", asked=True, attempt=1, tag={}, shared=True)
    ]


def test_a_smaller_cap_is_the_policys_own() -> None:
    policy = RetryPolicy(max_retry_after=5.0)
    h = _announcing(httpx.Response(429, headers={"Retry-After": "6"}), OK_LIST, retry=policy)
    assert "longer than the 5 s this tool waits" in str(h.fails(list_op, RateLimited))


def test_a_value_just_over_the_cap_is_not_rounded_down_to_it() -> None:
    h = _announcing(httpx.Response(429, headers={"Retry-After": "60.4"}), OK_LIST)
    assert "asked to wait 60.4 s (Retry-After: 60.4), longer than the 60 s" in str(
        h.fails(list_op, RateLimited)
    )


# Every wait is announced, before it starts


def test_each_backoff_is_announced_with_the_attempts_reason_before_the_wait() -> None:
    events: list[str] = []
    h = _announcing(httpx.Response(503), httpx.ConnectError("refused"), OK_LIST)
    h.options["on_wait"] = lambda n: (h.notices.append(n), events.append("notice"))
    sleep = h.sleep

    async def recorded_sleep(seconds: float) -> None:
        events.append("sleep")
        await sleep(seconds)

    h.options["sleep"] = recorded_sleep
    h.run(lambda c: c.list(label="list the account"))
    assert [(n.seconds, n.reason, n.asked, n.attempt) for n in h.notices] == [
        (0.5, "HTTP 503", False, 1),
        (1.0, "ConnectError: refused", False, 2),
    ]
    assert events == ["notice", "sleep", "notice", "sleep"]


def test_a_wait_of_nothing_is_not_announced() -> None:
    h = _announcing(httpx.Response(429, headers={"Retry-After": "0"}), OK_LIST)
    h.run(list_op)
    assert (h.calls, h.sleeps, h.notices) == (2, [], [])


def test_the_notice_names_the_wait_the_operation_and_the_reason() -> None:
    assert format_wait(_notice()) == "waiting 3 s before retrying list the account: HTTP 503"
    assert format_wait(_notice(seconds=0.4321, reason="ReadTimeout")) == (
        "waiting 0.43 s before retrying list the account: ReadTimeout"
    )
    assert format_wait(_notice(seconds=30.0, asked=True, operation="assign +91 80 4431 9240")) == (
        "waiting 30 s, as the server asked, before retrying assign +91 80 4431 9240: HTTP 503"
    )


# `stop` ends a wait at once (the executor's Ctrl-C event can be handed to the client)


def _stopped_during_the_wait(h: Announcing, op: Op) -> BaseException:
    """Run `op` with a wait that would never end unless `stop`, set as the wait starts, ends it."""
    stop = asyncio.Event()
    h.options["stop"] = stop
    h.options["on_wait"] = lambda notice: (h.notices.append(notice), stop.set())

    async def forever(_seconds: float) -> None:
        await asyncio.Event().wait()

    h.options["sleep"] = forever

    async def go() -> BaseException:
        async with h.client() as client:
            try:
                await asyncio.wait_for(op(client), timeout=10)
            except ApiError as exc:
                return exc
        raise AssertionError("the request succeeded")

    return asyncio.run(go())


def test_stop_ends_a_read_wait_with_the_last_attempts_error() -> None:
    h = _announcing(httpx.Response(503), OK_LIST)
    error = _stopped_during_the_wait(h, lambda c: c.list(label="list the account"))
    assert type(error) is ServerError
    assert str(error) == (
        "list the account failed (HTTP 503): server error; interrupted while waiting to try again"
    )
    assert (h.calls, len(h.notices)) == (1, 1)


@pytest.mark.parametrize(
    ("answer", "expected", "said"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}), RateLimited, "the change was not"),
        (httpx.ConnectError("refused"), ConnectionFailed, "so nothing changed"),
    ],
    ids=["429", "not-sent"],
)
def test_stop_ends_a_write_wait_and_the_write_was_not_applied(
    answer: httpx.Response | Exception, expected: type[ApiError], said: str
) -> None:
    h = Announcing()
    route(h, "POST", "/inbound/assign").mock(side_effect=[answer, OK_LIST])
    error = _stopped_during_the_wait(h, WRITES[0][3])
    assert type(error) is expected
    assert said in str(error)
    assert str(error).endswith("; interrupted while waiting to try again")
    assert h.calls == 1


def test_a_stop_set_before_the_wait_skips_it() -> None:
    stop = asyncio.Event()
    stop.set()
    h = _announcing(httpx.Response(503), OK_LIST, stop=stop)
    h.fails(list_op, ServerError)
    assert (h.calls, h.sleeps) == (1, [])


def test_without_stop_the_wait_runs_its_course() -> None:
    h = _announcing(httpx.Response(503), OK_LIST, stop=asyncio.Event())
    assert h.run(list_op) == ()
    assert h.sleeps == [0.5]


# Through the CLI: the notices on stderr, and Ctrl-C during a wait

CONFIG = "version: 1\nnumbers: []\n"


@pytest.mark.socket
def test_the_cli_says_on_stderr_what_it_waits_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        sandbox.add_fault({"kind": "rate_limit", "match": "reads", "retry_after": "1"})
        result = run_main("plan", str(tmp_path / "inbound.yaml"))
    assert result.code == 0, result.err
    assert result.err == (
        "waiting 1 s, as the server asked, before retrying list the account: HTTP 429\n"
    )


@pytest.mark.socket
def test_the_cli_gives_up_at_once_when_asked_to_wait_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        sandbox.add_fault({"kind": "rate_limit", "match": "reads", "retry_after": "999999"})
        result = run_main("apply", str(tmp_path / "inbound.yaml"), "--auto-approve")
        requests = sandbox.stats()["requests"]
    assert result.code == 1
    assert result.err == (
        "Error: list the account failed (HTTP 429): Too Many Requests (sandbox fault:"
        " rate_limit); the server asked to wait 999999 s (Retry-After: 999999), longer than"
        " the 60 s this tool waits\n"
    )
    assert requests == {"GET /inbound/list": 1}


@pytest.mark.socket
def test_ctrl_c_during_a_retry_after_wait_ends_plan_at_once(tmp_path: Path) -> None:
    (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
    with served() as (sandbox, url):
        sandbox.add_fault({"kind": "rate_limit", "match": "reads", "retry_after": "30"})
        env = {
            **os.environ,
            "INBOUND_SYNC_API_URL": url,
            "INBOUND_SYNC_API_KEY": ACME_KEY,
            "NO_COLOR": "1",
        }
        with subprocess.Popen(
            [sys.executable, "-m", "inbound_sync", "plan", "inbound.yaml"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:
            code, out, lines = _interrupt_when_waiting(process)
        requests = sandbox.stats()["requests"]
    err = b"".join(lines).decode()
    assert code == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "Interrupted."
    assert out == b""
    assert requests == {"GET /inbound/list": 1}


def _interrupt_when_waiting(process: subprocess.Popen[bytes]) -> tuple[int, bytes, list[bytes]]:
    """SIGINT once the process says it waits 30 s; its exit code, stdout and stderr lines."""
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = process.stderr
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, b"")))
    reader.start()
    notice = b"waiting 30 s, as the server asked, before retrying list the account: HTTP 429\n"
    deadline = time.monotonic() + 20
    while notice not in lines:
        assert time.monotonic() < deadline, lines
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    # Far less than the 30 s the server asked for; a bound, not a measurement.
    code = process.wait(timeout=15)
    reader.join(5)
    return code, process.stdout.read(), lines
