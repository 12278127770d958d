"""A listing where two mappings share one inbound_id is malformed: the read fails, nothing is written.

A delete planned for one of them would address the other: the API acts by id, not by number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_support import Harness, list_op, route
from inbound_sync.errors import ResponseFormatError
from inbound_sync.sandbox import Sandbox
from inbound_sync.sandbox.faults import parse_rule
from reliability_support import run_main, served
from sandbox_fixtures import SUPPORT, assign_body, call, controller, listed

FIRST = "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"
SECOND = "1b7e0c3a-5d2f-4e8a-9c61-0f3b2a4d5e6f"


def _row(inbound_id: str, number: str) -> dict[str, object]:
    return {"inbound_id": inbound_id, "phone_number_normalized": number, "assistant_id": None}


def _listing(*rows: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": list(rows)})


# The client


def test_two_mappings_sharing_an_inbound_id_fail_the_read_naming_the_id() -> None:
    h = Harness()
    answer = _listing(_row(FIRST, "918044319240"), _row(FIRST, "918044319241"))
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    error = h.fails(lambda c: c.list(label="list the account"), ResponseFormatError)
    assert str(error) == (
        "list the account failed (HTTP 200): the answer to GET /inbound/list was a listing in"
        f" which two mappings share inbound_id '{FIRST}' (numbers 918044319240 and 918044319241)"
    )
    assert h.calls == 1  # the same server would send the same listing again
    assert [(r.outcome, r.status) for r in h.records] == [("error", 200)]
    assert FIRST in (h.records[0].error or "")


def test_a_row_listed_twice_is_refused_too() -> None:
    h = Harness()
    row = _row(FIRST, "918044319240")
    route(h, "GET", "/inbound/list").mock(return_value=_listing(row, _row(SECOND, "9180"), row))
    error = h.fails(list_op, ResponseFormatError)
    assert "(numbers 918044319240 and 918044319240)" in str(error)


def test_distinct_inbound_ids_are_read_as_they_are() -> None:
    h = Harness()
    answer = _listing(_row(FIRST, "918044319240"), _row(SECOND, "918044319241"))
    route(h, "GET", "/inbound/list").mock(return_value=answer)
    assert [m.inbound_id for m in h.run(list_op)] == [FIRST, SECOND]


# The sandbox fault that makes such a listing


def test_the_duplicate_id_fault_matches_the_list_by_default() -> None:
    fault, count = parse_rule({"kind": "duplicate_id"})
    assert (fault.match, count) == ("GET /inbound/list", 1)
    assert fault.matches("GET", "/inbound/list")
    assert not fault.matches("DELETE", "/inbound/delete/x")


def test_the_duplicate_id_fault_gives_the_second_mapping_the_first_ones_id(app) -> None:
    for number in ("+918044319240", "+918044319241", "+918044319242"):
        assert call(app, "POST", "/inbound/assign", json=assign_body(number)).status_code == 200
    honest = listed(app)
    controller(app).add_fault({"kind": "duplicate_id"})
    faulty = listed(app)
    assert [r["inbound_id"] for r in faulty] == [honest[0]["inbound_id"]] * 2 + [
        honest[2]["inbound_id"]
    ]
    assert [r["phone_number"] for r in faulty] == [r["phone_number"] for r in honest]
    assert listed(app) == honest  # it fired once
    assert controller(app).stats()["faults"] == {"duplicate_id": 1}


def test_the_duplicate_id_fault_leaves_a_list_of_one_alone(app) -> None:
    call(app, "POST", "/inbound/assign", json=assign_body("+918044319240"))
    honest = listed(app)
    controller(app).add_fault({"kind": "duplicate_id"})
    assert listed(app) == honest


# End to end: the CLI against the sandbox on a loopback socket

CONFIG = f"""version: 1
numbers:
  - number: "+918044319240"
    assistant: {SUPPORT}
  - number: "+918044319241"
    ensure: absent
"""


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    """A served sandbox whose acme account holds two mappings; the URL and key in the env."""
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", "sandbox-key-acme")
        for number in ("+918044319240", "+918044319241"):
            response = httpx.post(
                f"{url}/inbound/assign",
                json=assign_body(number),
                headers={"Authorization": "Bearer sandbox-key-acme"},
            )
            assert response.status_code == 200, response.text
        sandbox.counters.clear()
        (tmp_path / "inbound.yaml").write_text(CONFIG, encoding="utf-8")
        yield sandbox, tmp_path / "inbound.yaml"


def _first_id(sandbox: Sandbox) -> str:
    return next(m.inbound_id for m in sandbox.all_mappings() if m.tenant == "acme")


@pytest.mark.socket
@pytest.mark.parametrize(
    "argv",
    [("plan",), ("plan", "--format", "json"), ("apply", "--auto-approve")],
    ids=["plan", "plan-json", "apply"],
)
def test_a_listing_sharing_an_id_stops_the_command_before_any_write(
    account: tuple[Sandbox, Path], argv: tuple[str, ...]
) -> None:
    sandbox, config = account
    # Honest, the plan deletes +918044319241's mapping; with its id shared, that delete would
    # release +918044319240 instead.
    sandbox.add_fault({"kind": "duplicate_id", "count": 5})
    result = run_main(*argv, str(config))
    assert result.code == 1, result.err
    assert f"share inbound_id '{_first_id(sandbox)}'" in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    stats = sandbox.stats()
    assert stats["writes"] == 0
    assert set(stats["requests"]) == {"GET /inbound/list"}
    active = sorted(m.phone_number for m in sandbox.all_mappings() if m.active)
    assert active == ["+918044319240", "+918044319241", "+918044319999"]


@pytest.mark.socket
def test_without_the_fault_the_same_plan_deletes_the_second_mapping(
    account: tuple[Sandbox, Path],
) -> None:
    _sandbox, config = account
    result = run_main("plan", str(config))
    assert result.code == 0, result.err
    assert "Plan: 0 to assign, 0 to update, 0 to detach, 1 to delete" in result.out
