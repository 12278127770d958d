"""Ctrl-C, for real: SIGINT sent to an `inbound-sync` process talking to a sandbox on a socket.

- During apply: no new change starts, the ones in flight finish, the report lists what was done
  and what was skipped, the exit code is 130, and every number is either as it was or as planned;
  running apply again converges.
- While the account is being read (before any write), and at the approval prompt: a clean exit
  (1 "Aborted." as click reports it, or 130 "Interrupted.") with no traceback and no write.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbound_sync.sandbox import Sandbox
from interrupt_support import Cli, wait_until
from reliability_support import ACME_KEY, account, bindings, run_main, served
from sandbox_fixtures import SUPPORT

pytestmark = pytest.mark.socket

NUMBERS = [f"9180443192{i:02d}" for i in range(10, 26)]
CONFIG = "version: 1\nnumbers:\n" + "".join(
    f'  - number: "+{n}"\n    assistant: {SUPPORT}\n' for n in NUMBERS
)


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Iterator[tuple[Sandbox, str, Path]]:
    (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
    with served() as (controller, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        yield controller, url, tmp_path


@pytest.mark.parametrize(
    ("signum", "exit_code", "said"),
    [
        (signal.SIGINT, 130, "Interrupted"),
        (signal.SIGTERM, 143, "Terminated (SIGTERM)"),
        (signal.SIGHUP, 129, "Hung up (SIGHUP)"),
    ],
)
def test_a_signal_during_apply_finishes_what_is_in_flight_reports_and_exits(
    sandbox, signum, exit_code, said
):
    controller, url, root = sandbox
    controller.set_latency(200)  # each change takes 200 ms; 16 of them, two at a time
    argv = ["apply", "inbound.yaml", "--auto-approve", "--concurrency", "2"]
    cli = Cli([*argv, "--log-file", "audit.jsonl", "--undo-out", "undo.json"], url, root)
    cli.err.wait_for(r"^\[1/16\] done ")
    code, out, err = cli.interrupt(signum)
    controller.set_latency(0)

    assert code == exit_code, err
    assert "Traceback" not in err
    assert f"{said}: finishing the changes in flight, starting no new ones." in err
    summary = re.search(r"^Interrupted: (\d+) done, 0 failed, (\d+) skipped\.$", out, re.MULTILINE)
    assert summary, out
    done, skipped = int(summary[1]), int(summary[2])
    assert done >= 1
    assert skipped >= 1
    assert done + skipped == len(NUMBERS)
    assert out.count("not started: interrupted") == skipped
    # Exactly the changes reported done were made, each whole: a number is as planned or absent.
    now = bindings(account(controller))
    assert len(now) == done == controller.stats()["writes"]
    assert set(now.values()) == {(SUPPORT, None)}
    assert f"Not converged: {skipped} change(s) remain." in out
    # The audit log and the undo plan cover exactly what was done.
    log = [json.loads(line) for line in (root / "audit.jsonl").read_text().splitlines()]
    assert sum(1 for entry in log if entry["method"] == "POST") == done
    undo = json.loads((root / "undo.json").read_text())
    assert undo["summary"]["delete"] == done

    again = run_main("apply", str(root / "inbound.yaml"), "--auto-approve")
    assert again.code == 0, again.err
    assert "Converged" in again.out
    assert controller.stats()["writes"] == len(NUMBERS)
    assert len(account(controller).rows) == len(NUMBERS)


def test_ctrl_c_while_the_account_is_read_exits_cleanly_without_writing(sandbox):
    controller, url, root = sandbox
    controller.set_latency(1500)  # the list is still in flight when Ctrl-C comes
    cli = Cli(["apply", "inbound.yaml", "--auto-approve"], url, root)
    wait_until(lambda: controller.stats()["requests"].get("GET /inbound/list", 0) >= 1)
    code, out, err = cli.interrupt()
    controller.set_latency(0)

    # click turns Ctrl-C outside apply's own handler into Abort ("Aborted.", exit 1).
    assert (code, err.strip().splitlines()[-1]) in ((1, "Aborted."), (130, "Interrupted.")), err
    assert "Traceback" not in err
    assert out == ""
    assert controller.stats()["writes"] == 0


def test_ctrl_c_at_the_approval_prompt_aborts_without_writing(sandbox):
    controller, url, root = sandbox
    main_end, terminal = pty.openpty()
    try:
        cli = Cli(["apply", "inbound.yaml"], url, root, stdin=terminal)
        os.close(terminal)
        cli.out.wait_for(r"Apply these changes\? Only 'yes' is accepted")
        code, out, err = cli.interrupt()
    finally:
        os.close(main_end)

    assert (code, err.strip().splitlines()[-1]) in ((1, "Aborted."), (130, "Interrupted.")), err
    assert "Traceback" not in err
    assert "Plan: 16 to assign" in out
    assert controller.stats()["writes"] == 0


def test_a_second_signal_abandons_the_writes_in_flight_and_still_reports(sandbox):
    controller, url, root = sandbox
    controller.set_latency(3000)  # each write is still in flight when the signals come
    argv = ["apply", "inbound.yaml", "--auto-approve", "--concurrency", "2"]
    cli = Cli([*argv, "--log-file", "audit.jsonl"], url, root)
    wait_until(lambda: controller.stats()["requests"].get("POST /inbound/assign", 0) >= 2)
    cli.process.send_signal(signal.SIGINT)
    cli.err.wait_for(r"^Interrupted: finishing the changes in flight")
    code, out, err = cli.interrupt(signal.SIGTERM)
    controller.set_latency(0)

    assert code == 130, err  # the exit code names the first signal
    assert "Traceback" not in err
    assert "Abandoning the changes still in flight (a second signal, terminated)" in err
    assert out.count("interrupted again while in flight: the outcome is unknown") == 2
    assert re.search(r"^Interrupted: 0 done, 2 failed, 14 skipped\.$", out, re.MULTILINE), out
    assert "Not verified: interrupted again: the account was not read after the changes" in out
    assert (root / "audit.jsonl").read_text().count('"method": "GET"') == 1

    # Whatever the abandoned writes did, a new apply converges.
    again = run_main("apply", str(root / "inbound.yaml"), "--auto-approve")
    assert again.code == 0, again.err
    assert len(account(controller).rows) == len(NUMBERS)


def test_sigterm_while_the_account_is_read_exits_143_without_writing(sandbox):
    controller, url, root = sandbox
    controller.set_latency(1500)
    cli = Cli(["apply", "inbound.yaml", "--auto-approve"], url, root)
    wait_until(lambda: controller.stats()["requests"].get("GET /inbound/list", 0) >= 1)
    code, out, err = cli.interrupt(signal.SIGTERM)
    controller.set_latency(0)

    assert code == 143, err
    assert err.strip().splitlines()[-1] == "Terminated."
    assert "Traceback" not in err
    assert out == ""
    assert controller.stats()["writes"] == 0


def test_sigterm_at_the_approval_prompt_exits_143_without_writing(sandbox):
    controller, url, root = sandbox
    main_end, terminal = pty.openpty()
    try:
        cli = Cli(["apply", "inbound.yaml"], url, root, stdin=terminal)
        os.close(terminal)
        cli.out.wait_for(r"Apply these changes\? Only 'yes' is accepted")
        code, _out, err = cli.interrupt(signal.SIGTERM)
    finally:
        os.close(main_end)

    assert code == 143, err
    assert err.strip().splitlines()[-1] == "Terminated."
    assert "Traceback" not in err
    assert controller.stats()["writes"] == 0


def large_config(root: Path, numbers: int = 20_000, files: int = 8) -> None:
    """A config that takes a second or more to parse on two cores: none of it in the account."""
    per_file = numbers // files
    for k in range(files):
        entries = "".join(
            f'  - number: "+9180{k}{i:06d}"\n    assistant: {SUPPORT}\n' for i in range(per_file)
        )
        (root / f"n{k}.yaml").write_text(f"version: 1\nnumbers:\n{entries}", encoding="utf-8")


@pytest.mark.parametrize(
    ("command", "signum", "exit_code", "said"),
    [
        (["plan"], signal.SIGINT, 130, "Interrupted."),
        (["plan"], signal.SIGTERM, 143, "Terminated."),
        (["apply", "--auto-approve"], signal.SIGINT, 130, "Interrupted."),
        (["apply", "--auto-approve"], signal.SIGTERM, 143, "Terminated."),
    ],
    ids=["plan-SIGINT", "plan-SIGTERM", "apply-SIGINT", "apply-SIGTERM"],
)
def test_a_signal_while_the_config_is_parsed_and_the_account_read_exits_cleanly(
    sandbox, command, signum, exit_code, said
):
    controller, url, root = sandbox
    (root / "inbound.yaml").unlink()
    large_config(root)
    controller.set_latency(3000)  # the list is still in flight when the signal comes
    cli = Cli([command[0], str(root), *command[1:]], url, root)
    # The read starts once the config's workers are forked, and long before they are done.
    wait_until(lambda: controller.stats()["requests"].get("GET /inbound/list", 0) >= 1)
    workers = children(cli.process.pid)
    assert workers, "the config was parsed already"
    code, out, err = cli.interrupt(signum)
    controller.set_latency(0)

    assert code == exit_code, err
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err
    assert out == ""
    assert controller.stats()["writes"] == 0
    # The process ended (no thread kept it alive), and so did its workers.
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        listed = task / "children"
        found += [int(c) for c in listed.read_text().split()] if listed.exists() else []
    return found
