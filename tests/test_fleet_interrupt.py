"""SIGTERM, for real, sent to `inbound-sync apply --fleet` while it writes to two accounts of a
sandbox on a socket: what a CI runner does when a job is cancelled.

As for a single account: no new change starts in any target, the ones in flight finish, the
report, the audit log and the undo plan are written, the exit code is 143, no traceback; every
number is as it was or as planned, and running apply again converges.
"""

from __future__ import annotations

import json
import re
import signal

import pytest

from fleet_support import (
    BRAND_A_ASSISTANT,
    BRAND_B_ASSISTANT,
    FLEET_KEYS,
    FLEET_SEED,
    config_text,
    target,
    write_fleet,
)
from inbound_sync.sandbox import create_app
from interrupt_support import Cli
from reliability_support import account, served

pytestmark = pytest.mark.socket

NUMBERS = {
    "brand-a": [f"+9180443193{i:02d}" for i in range(8)],
    "brand-b": [f"+9180443194{i:02d}" for i in range(8)],
}


def test_sigterm_during_a_fleet_apply_finishes_what_is_in_flight_reports_and_exits_143(
    tmp_path, monkeypatch
):
    with served(create_app(seed=FLEET_SEED)) as (sandbox, url):
        for name, value in FLEET_KEYS.items():
            monkeypatch.setenv(name, value)
        write_fleet(
            tmp_path,
            {
                "brand-a": target(url, "INBOUND_SYNC_KEY_BRAND_A", "brand-a/"),
                "brand-b": target(url, "INBOUND_SYNC_KEY_BRAND_B", "brand-b/"),
            },
            {
                "brand-a": config_text(NUMBERS["brand-a"], BRAND_A_ASSISTANT),
                "brand-b": config_text(NUMBERS["brand-b"], BRAND_B_ASSISTANT),
            },
        )
        sandbox.set_latency(200)  # each change takes 200 ms; 16 of them, two at a time
        argv = ["apply", "--fleet", "fleet.yaml", "--auto-approve", "--concurrency", "2"]
        cli = Cli([*argv, "--log-file", "audit.jsonl", "--undo-out", "undo.json"], url, tmp_path)
        cli.err.wait_for(r"^brand-[ab]: \[1/16\] done ")
        code, out, err = cli.interrupt(signal.SIGTERM)
        sandbox.set_latency(0)

        assert code == 143, err
        assert "Traceback" not in err
        assert "Terminated (SIGTERM): finishing the changes in flight, starting no new ones." in err
        summary = re.search(
            r"^Interrupted: (\d+) done, 0 failed, (\d+) skipped; 0 of 2 targets converged\.$",
            out,
            re.MULTILINE,
        )
        assert summary, out
        done, skipped = int(summary[1]), int(summary[2])
        assert done >= 1
        assert skipped >= 1
        assert done + skipped == 16
        assert out.count("not started: interrupted") == skipped
        # Exactly the changes reported done were made, each whole.
        held = {
            name: {r.normalized: r.assistant_id for r in account(sandbox, name).rows}
            for name in NUMBERS
        }
        made = [n for name, numbers in NUMBERS.items() for n in numbers if n[1:] in held[name]]
        assert len(made) == done == sandbox.stats()["writes"]
        assert set(held["brand-b"].values()) <= {BRAND_B_ASSISTANT}
        # The audit log and the undo plan cover exactly what was done.
        log = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert sum(1 for entry in log if entry["method"] == "POST") == done
        assert {k: log[-1][k] for k in ("action", "done", "skipped")} == {
            "action": "summary",
            "done": done,
            "skipped": skipped,
        }
        undo = json.loads((tmp_path / "undo.json").read_text())
        assert undo["summary"]["delete"] == done

        again = Cli(["apply", "--fleet", "fleet.yaml", "--auto-approve"], url, tmp_path)
        code, out, err = again.finish()
        assert code == 0, err
        assert "Fleet: " in out
        assert "2 of 2 targets converged." in out
        assert sandbox.stats()["writes"] == 16
