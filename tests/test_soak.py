"""Fault soak: many rounds of random desired states applied through a sandbox that fails at random.

The sandbox, served on a loopback socket, injects with a seeded RNG: 503s, 429s with Retry-After,
writes applied but answered with 504, connections dropped before and after the write, answers
slower than the client's read timeout, and HTML error pages, on reads and writes alike. (Over a
socket, because httpx.ASGITransport ignores timeouts: in-process, a slow answer is only late.)

Also here, the fault the soak can meet at the very end: the verification read failing. The changes
made are still reported, never lost with the read.

Each round applies a new random desired state until one apply reports success (at most
MAX_APPLIES), and after every apply checks, against the sandbox's own database:
- every change reported done shows in the account;
- a report of success is true;
- no number the desired state keeps was deleted, and none it routes was detached;
- no number is held by two active mappings;
- every unknown outcome was resolved by re-reading the account, never by a blind resend;
and at the end of the round, that no difference remains.

INBOUND_SYNC_SOAK_ROUNDS sets the number of rounds (`make soak` runs 200),
INBOUND_SYNC_SOAK_SEED the seed of both the desired states and the faults, INBOUND_SYNC_SOAK_RATE
the share of requests that fail (0.25).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import sys
from collections import Counter

import pytest

from e2e_support import client_for, plan_and_apply
from inbound_sync.api import (
    ApiKey,
    InboundClient,
    RequestRecord,
    RetryPolicy,
    Timeouts,
    WaitNotice,
)
from inbound_sync.apply import ApplyReport, ClientAccount, Outcome, Settings, apply_plan
from inbound_sync.apply.executor import is_done
from inbound_sync.config import DesiredState
from inbound_sync.errors import ApiError
from inbound_sync.plan import Policy, Snapshot, make_plan
from inbound_sync.render import report as render_report
from inbound_sync.sandbox import Sandbox, create_app
from inbound_sync.sandbox.server import running_server
from planning import A1, A2, S1, state, want
from reliability_support import (
    ACME_KEY,
    Answer,
    Scripted,
    account,
    controller,
    duplicate_numbers,
    keeps,
    random_desired,
    residual,
    routes,
    run_main,
    satisfies,
    seed_with_key,
    served,
    show,
)
from sandbox_fixtures import sandbox_app

ROUNDS = int(os.environ.get("INBOUND_SYNC_SOAK_ROUNDS", "60"))
SEED = int(os.environ.get("INBOUND_SYNC_SOAK_SEED", "20260318"))
RATE = float(os.environ.get("INBOUND_SYNC_SOAK_RATE", "0.25"))
READ_TIMEOUT = 0.15
SLOW_MS = 300
MAX_APPLIES = 5
RETRY_AFTER = 1.0
FAULTS = [
    {"kind": "error_before", "status": 503},
    {"kind": "rate_limit", "retry_after": str(int(RETRY_AFTER))},
    {"kind": "error_after", "status": 504},
    {"kind": "drop_before"},
    {"kind": "drop_after"},
    {"kind": "slow", "delay_ms": SLOW_MS},
    {"kind": "html", "status": 502},
]


class Soak:
    """The client side of the soak, and everything it counts."""

    def __init__(self, sandbox: Sandbox, url: str) -> None:
        self.sandbox = sandbox
        self.url = url
        self.records: list[RequestRecord] = []
        self.sleeps: list[float] = []
        self.pauses: list[WaitNotice] = []
        self.outcomes: list[Outcome] = []
        self.figures = Counter[str]()
        self.violations: list[str] = []

    async def sleep(self, seconds: float) -> None:
        # Backoff and Retry-After are recorded, not waited: the soak checks they were asked for.
        self.sleeps.append(seconds)
        await asyncio.sleep(0)

    def client(self) -> InboundClient:
        return InboundClient(
            self.url,
            ApiKey(ACME_KEY),
            timeouts=Timeouts(connect=2.0, read=READ_TIMEOUT),
            retry=RetryPolicy(attempts=5, base_delay=0.0, max_delay=0.0),
            sleep=self.sleep,
            on_request=self.records.append,
            on_wait=lambda notice: notice.shared and self.pauses.append(notice),
            rng=random.Random(SEED),
        )

    async def apply_once(self, desired: DesiredState) -> ApplyReport | None:
        """Plan from a fresh list and apply, as `inbound-sync apply --auto-approve` does."""
        async with self.client() as client:
            remote = ClientAccount(client)
            try:
                snapshot = await remote.snapshot()
            except ApiError:
                self.figures["plan reads failed after retries"] += 1
                return None
            plan = make_plan(desired, snapshot, Policy(desired.safety, allow_destructive=True))
            self.figures["changes planned"] += len(plan.changes)
            settings = Settings(concurrency=4, attempts=5, reread_window=0.01)
            return await apply_plan(remote, plan, desired, settings)

    async def quiesce(self, slow_before: int) -> None:
        """Let answers the client gave up on land, so that the database is at rest."""
        if self.sandbox.stats()["faults"].get("slow", 0) > slow_before:
            await asyncio.sleep(SLOW_MS / 1000 + 0.1)

    async def round(self, number: int, desired: DesiredState) -> int:
        before = {r.normalized: r.inbound_id for r in account(self.sandbox).rows}
        for attempt in range(1, MAX_APPLIES + 1):
            first_record = len(self.records)
            slow_before = self.sandbox.stats()["faults"].get("slow", 0)
            report = await self.apply_once(desired)
            await self.quiesce(slow_before)
            self.figures["applies"] += 1
            where = f"round {number}, apply {attempt}"
            self.check(where, desired, report, self.records[first_record:], before)
            if report is not None and report.ok:
                break
            self.figures["applies that had to run again"] += 1
        return residual(desired, account(self.sandbox))

    def check(
        self,
        where: str,
        desired: DesiredState,
        report: ApplyReport | None,
        records: list[RequestRecord],
        before: dict[str, str],
    ) -> None:
        now = account(self.sandbox)
        if report is not None:
            self.check_report(where, desired, report, now)
        for record in records:
            if record.method == "GET":
                continue
            action, number = record.tag.get("action", "?"), record.tag.get("number", "?")[1:]
            if action == "delete" and keeps(desired, number):
                self.violations.append(f"{where}: deleted +{number}, which is kept")
            if action == "detach" and routes(desired, number):
                self.violations.append(f"{where}: detached +{number}, which is routed")
        ids = {r.normalized: r.inbound_id for r in now.rows}
        for number, inbound_id in before.items():
            if keeps(desired, number) and ids.get(number) != inbound_id:
                self.violations.append(f"{where}: +{number} was kept but its mapping was replaced")
        self.violations += [
            f"{where}: +{n} is assigned twice" for n in duplicate_numbers(self.sandbox)
        ]

    def check_report(
        self, where: str, desired: DesiredState, report: ApplyReport, now: Snapshot
    ) -> None:
        self.outcomes += report.outcomes
        for outcome in report.outcomes:
            if outcome.status == "done" and not is_done(outcome.change, now):
                self.violations.append(f"{where}: {outcome.change} reported done, not in account")
        if report.ok and not satisfies(desired, now):
            self.violations.append(f"{where}: reported success, but the account differs")
        if report.unverified is not None:
            self.figures["verification reads failed (reported, not lost)"] += 1


def resolutions(outcomes: list[Outcome]) -> Counter[str]:
    """How the executor settled each unknown outcome: every one is accounted for by a re-read."""
    found = Counter[str]()
    for o in outcomes:
        found["resent after a re-read showed it missing"] += max(0, o.attempts - 1)
        if "confirmed by re-reading" in o.message:
            found["confirmed done by a re-read"] += 1
        elif "could not be read" in o.message:
            found["reported failed: the re-read failed too"] += 1
        elif "outcome still unknown" in o.message:
            found["reported failed: unknown on every attempt"] += 1
    return found


async def soak(sandbox: Sandbox, url: str) -> tuple[Soak, list[int]]:
    run = Soak(sandbox, url)
    rng = random.Random(SEED)
    sandbox.add_fault({"random": {"seed": SEED, "rate": RATE, "kinds": FAULTS, "match": "all"}})
    residuals = []
    for number in range(1, ROUNDS + 1):
        desired = random_desired(rng, account(sandbox))
        residuals.append(await run.round(number, desired))
    sandbox.clear_faults()
    return run, residuals


@pytest.mark.soak
@pytest.mark.socket
def test_apply_converges_under_random_faults_and_never_loses_a_kept_mapping(capsys):
    with served() as (sandbox, url):
        run, residuals = asyncio.run(soak(sandbox, url))
        stats = sandbox.stats()

    faults = dict(sorted(stats["faults"].items()))
    records = run.records
    writes_sent = sum(1 for r in records if r.method != "GET")
    unknown = sum(1 for r in records if r.outcome == "unknown")
    resolved = resolutions(run.outcomes)
    statuses = Counter(o.status for o in run.outcomes)
    pauses = [notice.seconds for notice in run.pauses]
    rate_limited_retries = sum(1 for r in records if r.status == 429 and r.outcome == "retry")
    show(
        capsys,
        f"Fault soak (seed {SEED}, fault rate {RATE}, read timeout {READ_TIMEOUT}s)",
        {
            "rounds": ROUNDS,
            "applies": run.figures["applies"],
            "applies that had to run again": run.figures["applies that had to run again"],
            "changes planned": run.figures["changes planned"],
            "outcomes": dict(sorted(statuses.items())),
            "HTTP requests": sum(stats["requests"].values()),
            "faults injected": f"{sum(faults.values())} {faults}",
            "write requests sent": writes_sent,
            "writes applied by the server": stats["writes"],
            "read timeouts": sum(1 for r in records if r.error and "ReadTimeout" in r.error),
            "pauses of every request for a 429": len(pauses),
            "unknown write outcomes": unknown,
            "  resolved": dict(resolved),
            "plan reads failed after retries": run.figures["plan reads failed after retries"],
            "verification reads failed": run.figures[
                "verification reads failed (reported, not lost)"
            ],
            "violations": len(run.violations),
            "residual differences": sum(abs(r) for r in residuals),
        },
    )

    assert run.violations == []
    assert residuals == [0] * ROUNDS
    # Every unknown outcome was settled by a re-read: confirmed, resent because the account did not
    # show it, or reported failed; none was resent blindly.
    assert unknown == sum(resolved.values())
    # A 429 paused every request for what Retry-After asked (the client's sleeps are recorded
    # here, not slept, so a pause is begun again by the next 429), and no wait was longer.
    assert rate_limited_retries > 0
    assert set(pauses) == {RETRY_AFTER}
    assert max(run.sleeps) <= RETRY_AFTER
    # The soak must have exercised what it claims to.
    assert unknown > 0
    assert statuses["done"] > 0
    if ROUNDS >= 10:
        assert set(faults) == {str(f["kind"]) for f in FAULTS}


# -- the verification read fails ---------------------------------------------------------------


def fail_reads_from_first_write(sandbox: Sandbox, scripted: Scripted, count: int = 5) -> None:
    """Every read after the first write fails: the plan's list passes, the verification does not."""
    scripted.on_write(
        1, lambda: sandbox.add_fault({"kind": "error_before", "match": "reads", "count": count})
    )


def test_a_failed_verification_read_is_reported_with_every_outcome():
    desired = state(want("918044319240", A1, S1), want("918044319241", A2))
    with sandbox_app(seed=seed_with_key()) as app:
        sandbox, scripted = controller(app), Scripted(app)
        fail_reads_from_first_write(sandbox, scripted)

        async def scenario() -> ApplyReport:
            async with client_for(scripted) as client:
                _plan, report = await plan_and_apply(client, desired)
                return report

        report = asyncio.run(scenario())
        assert [o.status for o in report.outcomes] == ["done", "done"]
        assert report.final is None
        assert report.unverified is not None
        assert report.unverified.startswith(
            "the account could not be read after the changes: list the account failed (HTTP 503)"
        )
        assert not report.converged
        assert not report.ok
        assert satisfies(desired, account(sandbox))  # the writes were made, as reported


@pytest.mark.socket
def test_the_cli_reports_the_changes_made_when_it_cannot_verify_them(tmp_path, monkeypatch):
    config = tmp_path / "inbound.yaml"
    config.write_text(
        f"version: 1\nnumbers:\n  - {{number: '+918044319240', assistant: {A1}}}\n",
        encoding="utf-8",
    )
    app = create_app(seed=seed_with_key())
    sandbox, scripted = controller(app), Scripted(app)
    monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    try:
        with running_server(scripted) as url:
            monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
            # A refused read is not retried, so the CLI's real backoff does not slow the test.
            scripted.on_write(1, lambda: scripted.script(Answer("reads", 401, "{}", count=5)))
            undo = tmp_path / "undo.json"
            result = run_main(
                "apply", str(config), "--auto-approve", "--undo-out", str(undo), "--format", "json"
            )
    finally:
        sandbox.close()
    assert result.code == 1
    document = json.loads(result.out)
    assert [o["status"] for o in document["outcomes"]] == ["done"]
    assert document["verified"] is False
    assert document["converged"] is False
    assert document["verification_error"].startswith(
        "the account could not be read after the changes: list the account failed (HTTP 401)"
    )
    assert "the undo plan was not saved" in result.err
    assert not undo.exists()
    text = render_report.format_text(
        ApplyReport(
            outcomes=(),
            remaining=make_plan(state(), Snapshot(rows=()), Policy()),
            final=None,
            unverified="the account could not be read after the changes: x",
        )
    )
    assert "Not verified: the account could not be read after the changes: x; run" in text
