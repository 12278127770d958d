"""The fleet executor with in-memory accounts of one system: order, skips, shared limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fleet_support import fleet_target
from inbound_sync.apply import Settings
from inbound_sync.errors import BadRequestError, ConflictError
from inbound_sync.fleet import TargetInput, make_fleet_plan
from inbound_sync.fleet.execute import FleetReport, apply_fleet
from inbound_sync.plan import Change, Policy, RemoteRow, Snapshot
from planning import A1, row, state, want


class System:
    """Accounts sharing one number space: an assign of a held number is a 409."""

    def __init__(self, holdings: dict[str, list[str]]) -> None:
        self.rows = {n: (name, row(n)) for name, numbers in holdings.items() for n in numbers}
        self.events: list[tuple[str, str, str]] = []
        self.in_flight = 0
        self.most = 0
        self.failing: set[tuple[str, str]] = set()
        self.after_write: Callable[[], None] = lambda: None

    def account(self, name: str) -> Account:
        return Account(self, name)


class Account:
    def __init__(self, system: System, name: str) -> None:
        self.system = system
        self.name = name

    async def snapshot(self) -> Snapshot:
        return Snapshot(tuple(r for owner, r in self.system.rows.values() if owner == self.name))

    async def write(self, change: Change) -> None:
        system = self.system
        system.in_flight += 1
        system.most = max(system.most, system.in_flight)
        try:
            for _ in range(5):
                await asyncio.sleep(0)
            system.events.append((self.name, change.action, change.normalized))
            if (self.name, change.action) in system.failing:
                raise BadRequestError("refused", operation=change.action, status=400)
            if change.action == "delete":
                del system.rows[change.normalized]
            elif change.action == "assign":
                if change.normalized in system.rows:
                    raise ConflictError("already assigned", operation="assign", status=409)
                system.rows[change.normalized] = (
                    self.name,
                    RemoteRow(f"new-{change.normalized}", change.normalized, change.e164, A1),
                )
        finally:
            system.in_flight -= 1
            system.after_write()


def numbers(start: int, count: int) -> list[str]:
    return [f"91804431{i:04d}" for i in range(start, start + count)]


def run(system: System, wanted: dict[str, list[str]], concurrency: int = 8) -> FleetReport:
    names = sorted(wanted)
    accounts = {name: system.account(name) for name in names}
    snapshots = {name: asyncio.run(accounts[name].snapshot()) for name in names}
    plan = make_fleet_plan(
        TargetInput(fleet_target(n), state(*(want(x) for x in wanted[n])), snapshots[n], Policy())
        for n in names
    )
    return asyncio.run(
        apply_fleet(plan, accounts, Settings(concurrency=concurrency, reread_window=0))
    )


def test_every_delete_of_a_move_runs_before_its_assign():
    moving = numbers(0, 6)
    system = System({"a": moving, "b": []})
    report = run(system, {"a": [], "b": moving})
    assert report.ok, report
    for number in moving:
        assert system.events.index(("a", "delete", number)) < system.events.index(
            ("b", "assign", number)
        )
    assert {n for n, (owner, _) in system.rows.items() if owner == "b"} == set(moving)


def test_a_failed_delete_skips_only_the_assign_of_its_move():
    moving, other = numbers(0, 1), numbers(10, 3)
    system = System({"a": moving, "b": []})
    system.failing.add(("a", "delete"))
    report = run(system, {"a": [], "b": moving + other})
    outcomes = {(t.name, o.change.normalized): o for t in report.targets for o in t.report.outcomes}
    assert outcomes[("a", moving[0])].status == "failed"
    skipped = outcomes[("b", moving[0])]
    assert skipped.status == "skipped"
    assert "the delete of +91 80 4431 0000 in a, which must free it first" in skipped.message
    assert "refused" in skipped.message
    assert [outcomes[("b", n)].status for n in other] == ["done"] * 3
    assert ("b", "assign", moving[0]) not in system.events


def test_the_concurrency_is_a_total_across_the_fleet():
    wanted = {name: numbers(100 * i, 10) for i, name in enumerate(["a", "b", "c"])}
    system = System({})
    report = run(system, wanted, concurrency=4)
    assert report.ok
    assert system.most == 4


def test_a_409_with_every_target_in_the_run_is_outside_the_fleet():
    taken = numbers(0, 1)
    system = System({"a": []})
    system.rows[taken[0]] = ("stranger", row(taken[0]))
    report = run(system, {"a": taken})
    (outcome,) = report.targets[0].report.outcomes
    assert outcome.message.startswith(
        "conflict: +91 80 4431 0000 is held by an account outside this fleet (already assigned"
    )


def test_an_interrupted_fleet_starts_no_change_and_says_so():
    system = System({"a": numbers(0, 1)})
    accounts = {"a": system.account("a"), "b": system.account("b")}
    plan = make_fleet_plan(
        [
            TargetInput(
                fleet_target("a"), state(), asyncio.run(accounts["a"].snapshot()), Policy()
            ),
            TargetInput(fleet_target("b"), state(want(numbers(0, 1)[0])), Snapshot(()), Policy()),
        ]
    )

    async def interrupted() -> FleetReport:
        stop = asyncio.Event()
        stop.set()
        return await apply_fleet(plan, accounts, Settings(reread_window=0), stop=stop)

    report = asyncio.run(interrupted())
    assert report.interrupted
    assert system.events == []
    statuses = [(t.name, o.status) for t in report.targets for o in t.report.outcomes]
    assert statuses == [("a", "skipped"), ("b", "skipped")]


def test_the_report_has_a_section_per_target_in_every_format():
    from inbound_sync.render import fleet_report

    moving = numbers(0, 1)
    system = System({"a": moving, "b": []})
    system.failing.add(("a", "delete"))
    report = run(system, {"a": [], "b": moving})
    text = fleet_report.format_report(report)
    assert text.startswith("Target a (https://api.example.com)\n")
    assert text.rstrip().endswith("Fleet: 0 done, 1 failed, 1 skipped; 1 of 2 targets converged.")
    markdown = fleet_report.format_report_markdown(report)
    assert "#### a\n" in markdown
    assert "#### b\n" in markdown
    github = fleet_report.format_report_github(report)
    assert (
        "::error title=inbound-sync apply%3A a::delete +91 80 4431 0000 failed: refused" in github
    )
    document = fleet_report.report_document(report)
    assert document["summary"] == {"done": 0, "failed": 1, "skipped": 1}
    assert document["targets"]["b"]["outcomes"][0]["move"] == "move:a:b:918044310000"


def test_after_the_deadline_no_change_of_any_target_starts_and_the_report_says_so():
    from inbound_sync.render import fleet_report

    moving, other = numbers(0, 1), numbers(10, 2)
    system = System({"a": moving, "b": []})
    accounts = {"a": system.account("a"), "b": system.account("b")}
    plan = make_fleet_plan(
        [
            TargetInput(
                fleet_target("a"), state(), asyncio.run(accounts["a"].snapshot()), Policy()
            ),
            TargetInput(
                fleet_target("b"), state(*map(want, moving + other)), Snapshot(()), Policy()
            ),
        ]
    )

    async def expiring() -> FleetReport:
        # The deadline passes as the first write, the delete of the move, lands.
        expired = asyncio.Event()
        system.after_write = expired.set
        return await apply_fleet(plan, accounts, Settings(reread_window=0), expired=expired)

    report = asyncio.run(expiring())
    assert system.events == [("a", "delete", moving[0])]
    assert (report.expired, report.interrupted, report.ok) == (True, False, False)
    outcomes = {o.change.normalized: o for o in report.targets[1].report.outcomes}
    assert [(outcomes[n].status, outcomes[n].message) for n in moving + other] == [
        ("skipped", "not started: the run's deadline passed; " + FREED)
    ] + [("skipped", "not started: the run's deadline passed")] * 2
    assert fleet_report.report_line(report) == (
        "Stopped at the run's deadline: 1 done, 0 failed, 3 skipped (not applied);"
        " 1 of 2 targets converged."
    )
    assert fleet_report.report_document(report)["deadline_passed"] is True


FREED = (
    "+91 80 4431 0000 was released from a and is now free: apply again to assign it, or apply "
    "the undo plan to put it back in a"
)


def test_the_fleets_rate_limit_is_counted_in_every_format():
    from inbound_sync.render import fleet_report

    system = System({})
    report = run(system, {"a": numbers(0, 1), "b": numbers(10, 1)})
    targets = tuple(
        t._replace(report=t.report._replace(rate_limited=n, paused_s=2.5))
        for t, n in zip(report.targets, (3, 0), strict=True)
    )
    report = report._replace(targets=targets, rate_limited=3, paused_s=2.5)
    line = "Rate limit: 3 answers 429 over the fleet; requests paused 2.5 s in all."
    text = fleet_report.format_report(report)
    assert text.endswith(f"2 of 2 targets converged.\n{line}\n")
    assert text.count("Rate limit: 3 answers 429 from the API; every request paused 2.5 s") == 1
    assert f"\n{line}\n" in fleet_report.format_report_markdown(report)
    assert fleet_report.format_report_github(report).endswith(f"{line}\n")
    document = fleet_report.report_document(report)
    assert document["rate_limit"] == {"answered_429": 3, "paused_s": 2.5}
    assert document["targets"]["a"]["rate_limit"] == {"answered_429": 3, "paused_s": 2.5}
    assert document["deadline_passed"] is False
    quiet = report._replace(rate_limited=0)
    assert "over the fleet" not in fleet_report.format_report(quiet)
