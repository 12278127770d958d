"""plan, drift and apply, alone and with --fleet, read the account while the config is parsed.

Over a loopback socket, against the sandbox behind a layer that sets an event when the list
call reaches it. Parsing each config file waits on that event (with a bound never reached when
things work): a command that read the account only after its config would wait in vain.

- Each command's read reaches the server before its config is parsed.
- A bad config is reported as it always was (exit 1), even when the read failed too: it may
  cost a read, never a write.
- Connection settings that cannot be made (no key) are reported after the config's errors,
  and before any request, as they always were.
- apply's audit log records the early read.
- Worker processes still parse a large config: they are forked before the read's thread starts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_support import FLEET_KEYS, FLEET_SEED, copy_example
from inbound_sync.config import workers
from inbound_sync.config.source import YamlDocument
from inbound_sync.sandbox import Sandbox, create_app
from inbound_sync.sandbox.server import running_server
from reliability_support import ACME_KEY, Run, run_main, seed_with_key
from sandbox_fixtures import SUPPORT, controller

pytestmark = pytest.mark.socket

WAIT = 20.0  # seconds; a bound on every wait, never reached when things work

GOOD = f"""version: 1
numbers:
  - number: "+918044319210"
    assistant: {SUPPORT}
  - number: "+918044319211"
    assistant: {SUPPORT}
"""
BAD = GOOD.replace(f"assistant: {SUPPORT}\n  - number", "assistant: nobody\n  - number")
BAD_MESSAGE = (
    "numbers[0].assistant: unknown assistant alias 'nobody': not under assistants and not a UUID"
)


def config_error(path: Path) -> str:
    """What the CLI prints for BAD at `path`, and nothing else."""
    return f"Error: 1 error in the config:\n  {path}:4: {BAD_MESSAGE}\n"


class Listed:
    """An ASGI app in front of another: `seen` is set when a list call arrives, `answered` once
    the answer to it has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen = threading.Event()
        self.answered = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listing = scope["type"] == "http" and (scope["method"], scope["path"]) == (
            "GET",
            "/inbound/list",
        )
        if not listing:
            await self.app(scope, receive, send)
            return
        self.seen.set()

        async def sent(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.answered.set()

        await self.app(scope, receive, sent)


class Server(NamedTuple):
    sandbox: Sandbox
    listed: Listed
    url: str


@contextlib.contextmanager
def serving(seed: Any) -> Iterator[Server]:
    app = create_app(seed=seed)
    listed = Listed(app)
    try:
        with running_server(listed) as url:
            yield Server(controller(app), listed, url)
    finally:
        controller(app).close()


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, quiet: None) -> Iterator[Server]:
    """One account, with the CLI's URL and key pointing at it."""
    with serving(seed_with_key()) as served:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", served.url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        yield served


@pytest.fixture
def fleet_server(monkeypatch: pytest.MonkeyPatch, quiet: None) -> Iterator[Server]:
    """Three accounts, with the fleet's key variables set."""
    with serving(FLEET_SEED) as served:
        for name, value in FLEET_KEYS.items():
            monkeypatch.setenv(name, value)
        yield served


def parse_waits_for(monkeypatch: pytest.MonkeyPatch, event: threading.Event) -> list[bool]:
    """Every config file's validation first waits for `event`; returns what each wait found."""
    found: list[bool] = []
    validate = workers.validate_document

    def waiting(document: YamlDocument) -> Any:
        found.append(event.wait(WAIT))
        return validate(document)

    monkeypatch.setattr(workers, "validate_document", waiting)
    return found


def writes(sandbox: Sandbox) -> list[str]:
    """Every request that reached the API and was not a read."""
    return [route for route in sandbox.stats()["requests"] if not route.startswith("GET ")]


COMMANDS = {
    "plan": (["plan"], 0),
    "drift": (["drift"], 2),
    "apply": (["apply", "--auto-approve"], 0),
}


def run_with(command: str, path: Path, *more: str) -> Run:
    argv, _ = COMMANDS[command]
    return run_main(argv[0], str(path), *argv[1:], *more)


# -- the read overlaps the parse ----------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_account_is_read_while_the_config_is_parsed(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "inbound.yaml"
    path.write_text(GOOD, encoding="utf-8")
    waits = parse_waits_for(monkeypatch, server.listed.seen)
    result = run_with(command, path)
    assert result.code == COMMANDS[command][1], result.err
    assert waits == [True]
    assert ("Converged" in result.out) is (command == "apply")


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["plan", "--detailed-exitcode"], 2), (["drift"], 2), (["apply", "--auto-approve"], 0)],
    ids=["plan", "drift", "apply"],
)
def test_every_account_of_a_fleet_is_read_while_the_configs_are_parsed(
    fleet_server: Server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    code: int,
) -> None:
    fleet = copy_example(tmp_path, fleet_server.url)
    waits = parse_waits_for(monkeypatch, fleet_server.listed.seen)
    result = run_main(argv[0], "--fleet", str(fleet), *argv[1:])
    assert result.code == code, result.err
    assert waits
    assert all(waits)
    lists = fleet_server.sandbox.stats()["requests"]["GET /inbound/list"]
    assert lists >= 3  # every target's account, and apply's verification reads


def test_the_audit_log_records_the_read_made_while_the_config_was_parsed(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "inbound.yaml"
    path.write_text(GOOD, encoding="utf-8")
    waits = parse_waits_for(monkeypatch, server.listed.seen)
    log = tmp_path / "audit.jsonl"
    result = run_main("apply", str(path), "--auto-approve", "--log-file", str(log))
    assert result.code == 0, result.err
    assert waits == [True]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["action"], e["method"], e["path"]) for e in entries[:2]] == [
        ("list", "GET", "/inbound/list"),
        ("assign", "POST", "/inbound/assign"),
    ]
    assert [e["action"] for e in entries].count("list") == 2  # and the verification's


# -- a bad config: its errors first, never a write ----------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_config_may_cost_a_read_never_a_write(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "inbound.yaml"
    path.write_text(BAD, encoding="utf-8")
    waits = parse_waits_for(monkeypatch, server.listed.seen)
    result = run_with(command, path)
    assert result.code == 1
    assert result.err == config_error(path)
    assert waits == [True]
    assert writes(server.sandbox) == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_config_errors_are_reported_even_when_the_read_failed_too(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", "sandbox-key-revoked")
    path = tmp_path / "inbound.yaml"
    path.write_text(BAD, encoding="utf-8")
    waits = parse_waits_for(monkeypatch, server.listed.answered)
    result = run_with(command, path)
    assert result.code == 1
    assert result.err == config_error(path)
    assert waits == [True]
    assert writes(server.sandbox) == []


def test_a_bad_fleet_config_may_cost_reads_never_a_write(
    fleet_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fleet = copy_example(tmp_path, fleet_server.url)
    brand_a = tmp_path / "brand-a" / "inbound.yaml"
    brand_a.write_text(brand_a.read_text() + "  - number: '+91 80 123'\n    assistant: support\n")
    waits = parse_waits_for(monkeypatch, fleet_server.listed.seen)
    for argv in (["plan"], ["drift"], ["apply", "--auto-approve"]):
        result = run_main(argv[0], "--fleet", str(fleet), *argv[1:])
        assert result.code == 1, result.err
        assert result.err.startswith("Error: 1 error in the config:\n")
        assert f"{brand_a}:" in result.err
    assert all(waits)
    assert writes(fleet_server.sandbox) == []


# -- settings that cannot be made: after the config's errors, before any request -----------------


NO_KEY = (
    "Error: no API key: set INBOUND_SYNC_API_KEY, or pass --api-key-file PATH to a file holding"
    " the key\n"
)


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_without_a_key_plan_reports_the_config_errors_first_and_requests_nothing(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    monkeypatch.delenv("INBOUND_SYNC_API_KEY")
    path = tmp_path / "inbound.yaml"
    path.write_text(BAD, encoding="utf-8")
    bad = run_with(command, path)
    path.write_text(GOOD, encoding="utf-8")
    good = run_with(command, path)
    assert (bad.code, bad.err) == (1, config_error(path))
    assert (good.code, good.err) == (1, NO_KEY)
    assert server.sandbox.stats()["requests"] == {}


def test_without_a_key_apply_says_so_before_reading_the_config(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("INBOUND_SYNC_API_KEY")
    path = tmp_path / "inbound.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert run_with("apply", path) == (1, "", NO_KEY)
    assert server.sandbox.stats()["requests"] == {}


def test_a_fleet_key_that_is_not_set_comes_after_the_config_errors_and_before_any_request(
    fleet_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("INBOUND_SYNC_KEY_BRAND_B")
    fleet = copy_example(tmp_path, fleet_server.url)
    brand_a = tmp_path / "brand-a" / "inbound.yaml"
    good = brand_a.read_text()
    for argv in (["plan"], ["drift"], ["apply", "--auto-approve"]):
        brand_a.write_text(good + "  - number: '+91 80 123'\n    assistant: support\n")
        bad = run_main(argv[0], "--fleet", str(fleet), *argv[1:])
        brand_a.write_text(good)
        unset = run_main(argv[0], "--fleet", str(fleet), *argv[1:])
        assert bad.code == unset.code == 1
        assert bad.err.startswith("Error: 1 error in the config:\n"), bad.err
        assert "INBOUND_SYNC_KEY_BRAND_B is not set" in unset.err
    assert fleet_server.sandbox.stats()["requests"] == {}


@pytest.mark.parametrize("flag", ["--undo-out", "--log-file"])
def test_an_unwritable_undo_or_log_path_is_found_before_any_request(
    server: Server, tmp_path: Path, flag: str
) -> None:
    path = tmp_path / "inbound.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = run_main("apply", str(path), "--auto-approve", flag, str(tmp_path / "no" / "x.json"))
    assert result.code == 1
    assert f"cannot write {tmp_path / 'no' / 'x.json'}" in result.err
    assert server.sandbox.stats()["requests"] == {}


# -- worker processes still parse a large config -------------------------------------------------

FORKING_CHILD = """
import json, os, sys, threading, time
from pathlib import Path
from inbound_sync.cli import main
from inbound_sync.config import workers

marker, report = Path(sys.argv[1]), Path(sys.argv[2])
forks = []
fork = os.fork

def counted_fork():
    forks.append(threading.active_count())
    return fork()

os.fork = counted_fork
read = workers.read_check_normalize

def probe(path):
    # In a worker: parse only once the read of the account has reached the server.
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    (report.parent / f"worker-{os.getpid()}").write_text(str(marker.exists()))
    return read(path)

workers.read_check_normalize = probe
code = main(sys.argv[3:])
report.write_text(json.dumps({"code": code, "forks": forks, "pid": os.getpid()}))
"""


def touch_when(event: threading.Event, path: Path) -> None:
    if event.wait(WAIT):
        path.touch()


def test_workers_are_forked_before_the_read_starts_and_parse_while_it_runs(
    server: Server, tmp_path: Path
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for k in range(3):
        entries = "".join(
            f'  - number: "+9180441{k}{i:04d}"\n    assistant: {SUPPORT}\n' for i in range(50)
        )
        (config_dir / f"n{k}.yaml").write_text(f"version: 1\nnumbers:\n{entries}")
    marker, report = tmp_path / "read-arrived", tmp_path / "report.json"
    threading.Thread(target=touch_when, args=(server.listed.seen, marker), daemon=True).start()
    done = subprocess.run(
        [sys.executable, "-c", FORKING_CHILD, str(marker), str(report), "plan", str(config_dir)],
        env={**os.environ, "INBOUND_SYNC_WORKERS": "2", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    assert result["code"] == 0
    # Two workers, each forked while the process ran no other thread.
    assert result["forks"] == [1, 1]
    parsed = {p.name: p.read_text() for p in tmp_path.glob("worker-*")}
    assert parsed
    assert f"worker-{result['pid']}" not in parsed
    # Each worker parsed only once the read had reached the server.
    assert set(parsed.values()) == {"True"}
