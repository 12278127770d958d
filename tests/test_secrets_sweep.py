"""The API key never leaves the Authorization header: a sweep of every command and failure.

The sandbox serves a tenant whose key is SWEEP_KEY, behind a layer that can answer as a careless
server or proxy does: echoing the Authorization header in a JSON message, a long message that
the client clips, a plain-text 409, an HTML title, or a 200 that says "success": false. Every
command runs in every format, with and without --verbose, through successes and failures (wrong
key, 5xx, 409, unknown outcomes, unreadable accounts, config errors, stale and refused plans);
then stdout, stderr and every file the run wrote (plan, log, undo, import, step summary) are
searched for the key and for its distinctive part, which a clipped message would still show.

Also here: exceptions, reprs and request records of the layers below the CLI; plain http:// to a
remote host refused by every command; plans, logs and undo plans written owner-only.
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from inbound_sync.api import ApiKey, ConnectionSettings, InboundClient, RetryPolicy
from inbound_sync.apply import ClientAccount, Settings, apply_plan
from inbound_sync.errors import ApiError
from inbound_sync.plan import Policy, make_plan
from inbound_sync.sandbox import Sandbox, create_app
from inbound_sync.sandbox.server import running_server
from planning import A1, A2, S1, state, want
from reliability_support import (
    SWEEP_KEY,
    SWEEP_MARK,
    Answer,
    Scripted,
    controller,
    run_main,
    seed_with_key,
    show,
)

pytestmark = pytest.mark.socket

WRONG_KEY = "sk-live-WRONG-0b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e"
WRONG_MARK = "WRONG-0b9d"
SECRETS = (SWEEP_KEY, SWEEP_MARK, WRONG_KEY, WRONG_MARK)
LONG = "x" * 150  # so that the clip at 200 characters falls inside the key
GLOBEX_NUMBER = "+91 80 4431 9999"

CONFIG = f"""\
version: 1
assistants:
  support: {A1}
  sales: {A2}
strategies:
  crm: {S1}
numbers:
  - number: "+91 80 4431 9240"
    assistant: support
    strategy: crm
  - number: "080 4431 9241"
    assistant: sales
"""
CONFLICT = CONFIG + f'  - number: "{GLOBEX_NUMBER}"\n    assistant: support\n'
REFUSED = "version: 1\nunmanaged: delete\nsafety: {max_destructive: 1}\n"
BAD = "version: 1\nnumbers:\n  - number: '+91 80 CALL NOW'\n    assistant: nobody\n"
ECHO_JSON = '{"success": false, "detail": "invalid token {auth}"}'
ECHO_LONG = '{"success": false, "message": "' + LONG + ' token {auth}"}'
ECHO_HTML = "<html><head><title>502 for {auth}</title></head><body>{auth}</body></html>"
ECHO_FALSE = '{"success": false, "message": "refused for {auth}"}'
ECHO_TEXT = "number taken; caller {auth}"


class Scenario(NamedTuple):
    name: str
    argv: tuple[str, ...]
    code: int
    setup: Callable[[Sweep], None] | None = None
    key: str = SWEEP_KEY


class Sweep:
    """Runs commands against the sandbox and keeps everything they showed or wrote."""

    def __init__(self, sandbox: Sandbox, scripted: Scripted, url: str, root: Path) -> None:
        self.sandbox = sandbox
        self.scripted = scripted
        self.url = url
        self.root = root
        self.shown: list[tuple[str, str]] = []
        self.runs = 0

    def path(self, name: str) -> str:
        return str(self.root / name)

    def run(self, *argv: str, key: str = SWEEP_KEY) -> Any:
        os.environ["INBOUND_SYNC_API_KEY"] = key
        result = run_main(*(a.format(tmp=self.root) for a in argv))
        self.runs += 1
        self.shown += [(f"{argv} stdout", result.out), (f"{argv} stderr", result.err)]
        return result

    def written(self) -> list[tuple[str, str]]:
        found = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                found.append((str(path), path.read_bytes().decode("utf-8", "replace")))
        return found

    def leaks(self) -> list[str]:
        return [
            f"{where} shows {secret[:14]}…"
            for where, text in [*self.shown, *self.written()]
            for secret in SECRETS
            if secret in text
        ]


def applied(sweep: Sweep) -> None:
    assert sweep.run("apply", sweep.path("inbound.yaml"), "--auto-approve").code == 0


def saved_then_applied(sweep: Sweep) -> None:
    assert sweep.run("plan", sweep.path("inbound.yaml"), "--out", "{tmp}/saved.json").code == 0
    applied(sweep)


def script(*answers: Answer) -> Callable[[Sweep], None]:
    return lambda sweep: sweep.scripted.script(*answers)


def fault(rule: dict[str, Any]) -> Callable[[Sweep], None]:
    return lambda sweep: sweep.sandbox.add_fault(rule)


def unreadable_after_first_write(sweep: Sweep) -> None:
    """Writes answered 503 (unknown), then every read refused: nothing can be confirmed."""
    sweep.scripted.script(Answer("writes", 503, ECHO_JSON, count=50))
    sweep.scripted.on_write(
        1, lambda: sweep.scripted.script(Answer("reads", 401, ECHO_JSON, count=50))
    )


CFG, CONFLICT_CFG, REFUSED_CFG, BAD_CFG = (
    "{tmp}/inbound.yaml",
    "{tmp}/conflict.yaml",
    "{tmp}/refused.yaml",
    "{tmp}/bad.yaml",
)
APPLY = (
    "apply",
    CFG,
    "--auto-approve",
    "--log-file",
    "{tmp}/audit.jsonl",
    "--undo-out",
    "{tmp}/undo.json",
)
FORMATS = ("text", "json", "markdown", "github")
SCENARIOS = [
    Scenario("validate", ("validate", CFG), 0),
    Scenario("validate a bad config", ("validate", BAD_CFG), 1),
    Scenario("schema", ("schema",), 0),
    *(Scenario(f"list {f}", ("list", "--format", f), 0) for f in ("text", "json")),
    Scenario("import to stdout", ("import",), 0, applied),
    Scenario("import to a file", ("import", "--out", "{tmp}/imported.yaml"), 0, applied),
    *(
        Scenario(f"plan {f}", ("plan", CFG, "--format", f, "--out", "{tmp}/plan.json"), 0)
        for f in FORMATS
    ),
    *(Scenario(f"drift {f}", ("drift", CFG, "--format", f), 2) for f in FORMATS),
    *(Scenario(f"apply {f}", (*APPLY, "--format", f), 0) for f in FORMATS),
    Scenario(
        "apply a saved plan",
        ("apply", "--plan", "{tmp}/plan.json"),
        0,
        lambda s: s.run("plan", CFG, "--out", "{tmp}/plan.json"),
    ),
    Scenario("apply a stale plan", ("apply", "--plan", "{tmp}/saved.json"), 4, saved_then_applied),
    Scenario("apply refused by a guard", ("apply", REFUSED_CFG, "--auto-approve"), 3, applied),
    Scenario("plan with a config error", ("plan", BAD_CFG), 1),
    Scenario("wrong key (401)", ("plan", CFG), 1, key=WRONG_KEY),
    Scenario("wrong key, list", ("list", "--format", "json"), 1, key=WRONG_KEY),
    Scenario("401 echoing the key", ("list",), 1, script(Answer("reads", 401, ECHO_JSON))),
    Scenario(
        "400 echoing the key past the clip",
        APPLY,
        1,
        script(Answer("writes", 400, ECHO_LONG, count=10)),
    ),
    Scenario(
        "200 success false echoing the key",
        APPLY,
        1,
        script(Answer("writes", 200, ECHO_FALSE, count=10)),
    ),
    Scenario(
        "502 HTML page echoing the key",
        APPLY,
        1,
        script(Answer("writes", 502, ECHO_HTML, "text/html", count=50)),
    ),
    Scenario(
        "504 after the write, echoing the key",
        (*APPLY, "--format", "json"),
        0,
        script(Answer("writes", 504, ECHO_LONG, count=10, apply=True)),
    ),
    Scenario(
        "409 in plain text echoing the key",
        ("apply", CONFLICT_CFG, "--auto-approve"),
        1,
        script(Answer("POST /inbound/assign", 409, ECHO_TEXT, "text/plain", count=5)),
    ),
    Scenario(
        "409 from another tenant",
        ("apply", CONFLICT_CFG, "--auto-approve", "--format", "markdown"),
        1,
    ),
    Scenario(
        "503 before the writes",
        APPLY,
        0,
        fault({"kind": "error_before", "status": 503, "count": 3}),
    ),
    Scenario(
        "dropped connections",
        APPLY,
        0,
        fault({"rules": [{"kind": "drop_after"}, {"kind": "drop_before"}]}),
    ),
    Scenario("unknown outcomes and an unreadable account", APPLY, 1, unreadable_after_first_write),
    Scenario(
        "malformed listing echoing the key",
        ("plan", CFG),
        1,
        script(Answer("reads", 200, '{"success": true, "data": [{"inbound_id": "{auth}"}]}')),
    ),
    Scenario("plain http to a remote host", ("list", "--api-url", "http://api.example.com"), 1),
    Scenario(
        "a key file holding the wrong key", ("list", "--api-key-file", "{tmp}/../wrong.key"), 1
    ),
]


@pytest.fixture(scope="module")
def server():
    app = create_app(seed=seed_with_key(SWEEP_KEY))
    scripted = Scripted(app)
    with running_server(scripted) as url:
        yield controller(app), scripted, url
    controller(app).close()


@pytest.fixture
def sweep(server, tmp_path, monkeypatch):
    sandbox, scripted, url = server
    sandbox.reset()
    sandbox.clear_faults()
    scripted.clear()
    (tmp_path / "wrong.key").write_text(WRONG_KEY + "\n", encoding="utf-8")  # outside the sweep
    root = tmp_path / "work"
    root.mkdir()
    for name, text in (
        ("inbound.yaml", CONFIG),
        ("conflict.yaml", CONFLICT),
        ("refused.yaml", REFUSED),
        ("bad.yaml", BAD),
    ):
        (root / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", SWEEP_KEY)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(root / "step-summary.md"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    yield Sweep(sandbox, scripted, url, root)
    scripted.clear()
    sandbox.clear_faults()


RESULTS: dict[str, int] = {"runs": 0, "scenarios": 0, "files checked": 0, "leaks": 0}


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_key_is_in_no_output_and_no_file(sweep, scenario, verbose):
    if scenario.setup is not None:
        scenario.setup(sweep)
    argv = scenario.argv + (
        ("--verbose",) if verbose and scenario.argv[0] not in ("validate", "schema") else ()
    )
    result = sweep.run(*argv, key=scenario.key)
    assert result.code == scenario.code, result
    assert "Traceback" not in result.err
    leaks = sweep.leaks()
    RESULTS["runs"] += sweep.runs
    RESULTS["scenarios"] += 1
    RESULTS["files checked"] += len(sweep.written())
    RESULTS["leaks"] += len(leaks)
    assert leaks == []


def test_the_sweep_figures(capsys):
    """Runs last in this module: the figures of the sweep above."""
    show(capsys, "Secrets sweep", RESULTS)
    if RESULTS["scenarios"]:
        assert RESULTS["leaks"] == 0


def test_the_echoing_server_really_shows_the_key_to_the_client(server):
    """The sweep is meaningful only if the scripted answers carry the key to the tool."""
    _sandbox, scripted, url = server
    scripted.clear()
    scripted.script(Answer("reads", 401, ECHO_LONG))
    response = httpx.get(url + "/inbound/list", headers={"Authorization": f"Bearer {SWEEP_KEY}"})
    assert SWEEP_KEY in response.text


def test_a_real_process_shows_no_key_on_stdout_or_stderr(sweep):
    """The same, outside pytest's capture: a subprocess with --verbose through echoing failures."""
    sweep.scripted.script(Answer("writes", 400, ECHO_LONG, count=10))
    env = {**os.environ, "INBOUND_SYNC_API_KEY": SWEEP_KEY, "NO_COLOR": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inbound_sync",
            "apply",
            sweep.path("inbound.yaml"),
            "--auto-approve",
            "--verbose",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "400" in done.stderr
    assert "token Bearer ***" in done.stdout + done.stderr
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr


# -- exceptions, reprs and records below the CLI -------------------------------------------------


def texts_of(error: BaseException) -> list[str]:
    """Everything a traceback or a debugger could show of an exception and its chain."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return texts


ECHOES = [
    Answer("all", 401, ECHO_JSON, count=10),
    Answer("all", 400, ECHO_LONG, count=10),
    Answer("all", 403, ECHO_LONG, "text/plain", count=10),
    Answer("all", 404, ECHO_HTML, "text/html", count=10),
    Answer("all", 409, ECHO_TEXT, "text/plain", count=10),
    Answer("all", 200, ECHO_FALSE, count=10),
    Answer("writes", 502, ECHO_HTML, "text/html", count=10),
    Answer("writes", 503, ECHO_LONG, count=10),
    Answer("writes", 504, ECHO_LONG, count=10, apply=True),
]


@pytest.mark.parametrize("answer", ECHOES, ids=[f"{a.status}-{a.match}" for a in ECHOES])
def test_exceptions_reprs_reports_and_records_hide_the_key(server, answer):
    sandbox, scripted, url = server
    sandbox.reset()
    scripted.clear()
    records: list[Any] = []
    settings = ConnectionSettings(
        base_url=url, api_key=ApiKey(SWEEP_KEY), retry=RetryPolicy(attempts=2, base_delay=0.0)
    )
    shown: list[str] = [repr(settings), str(settings), repr(settings.api_key)]

    async def scenario() -> None:
        async with InboundClient.from_settings(settings, on_request=records.append) as client:
            shown.append(repr(client))
            operations = [
                client.list(),
                client.assign(phone_number="+918044319240", assistant_id=A1),
                client.update("id-1", assistant_id=A2),
                client.detach("id-1"),
                client.delete("id-1"),
            ]
            for operation in operations:
                scripted.script(answer._replace(count=2))
                try:
                    await operation
                except ApiError as exc:
                    shown.extend(texts_of(exc))
            scripted.clear()
            desired = state(want("918044319240", A1, S1), want("918044319241", A2))
            account = ClientAccount(client)
            plan = make_plan(desired, await account.snapshot(), Policy(desired.safety, True))
            scripted.script(answer)
            report = await apply_plan(account, plan, desired, Settings(reread_window=0.0))
            shown.extend([repr(report), repr(account), repr(report.outcomes)])

    asyncio.run(scenario())
    scripted.clear()
    shown.extend(repr(r) for r in records)
    assert any("***" in text for text in shown)  # the key reached the client, and was redacted
    assert [text for text in shown for secret in SECRETS if secret in text] == []


# -- plain http, and owner-only files --------------------------------------------------------------

REMOTE_HTTP = [
    "http://api.example.com",
    "http://10.0.0.7:8787",
    "http://192.168.1.20",
    "http://[2001:db8::1]:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "HTTP://API.EXAMPLE.COM",
]
NETWORK_COMMANDS = [
    ("list",),
    ("import",),
    ("plan", CFG),
    ("drift", CFG),
    ("apply", CFG, "--auto-approve"),
]


@pytest.mark.parametrize("url", REMOTE_HTTP)
@pytest.mark.parametrize("command", NETWORK_COMMANDS, ids=lambda c: c[0])
def test_plain_http_to_a_remote_host_is_refused_by_every_command(sweep, command, url):
    before = sum(sweep.sandbox.stats()["requests"].values())
    result = sweep.run(*command, "--api-url", url)
    assert result.code == 1
    assert "refusing plain http://" in result.err
    assert "--allow-insecure-http" in result.err
    assert sum(sweep.sandbox.stats()["requests"].values()) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_to_loopback_is_allowed(sweep, host):
    url = sweep.url.replace("127.0.0.1", host)
    assert sweep.run("list", "--api-url", url).code == 0


def test_plans_logs_and_undo_plans_are_owner_only_whatever_the_umask(sweep):
    for name in ("plan.json", "audit.jsonl", "undo.json"):
        path = sweep.root / name
        path.write_text("old, world-readable\n", encoding="utf-8")
        path.chmod(0o666)
    previous = os.umask(0)
    try:
        assert sweep.run("plan", CFG, "--out", "{tmp}/plan.json").code == 0
        assert sweep.run(*APPLY).code == 0
    finally:
        os.umask(previous)
    for name in ("plan.json", "audit.jsonl", "undo.json"):
        path = sweep.root / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert "old, world-readable" not in path.read_text(encoding="utf-8")
