"""Fault injection, in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from inbound_sync.sandbox.faults import KINDS, parse_random, parse_rule
from sandbox_fixtures import (
    ACME,
    admin,
    assign,
    assign_body,
    call,
    controller,
    error,
    listed,
    run,
)


def arm(app, **rule):
    controller(app).add_fault(rule)


def post_assign(app, number="+918044319240"):
    return call(app, "POST", "/inbound/assign", json=assign_body(number))


def test_error_before_answers_503_without_applying_and_fires_once(app):
    arm(app, kind="error_before")
    assert "sandbox fault" in error(post_assign(app), 503)
    assert listed(app) == []
    assert post_assign(app).status_code == 200


def test_error_before_uses_the_rules_status(app):
    arm(app, kind="error_before", status=500)
    assert error(post_assign(app), 500)


def test_error_after_applies_the_write_then_answers_504(app):
    arm(app, kind="error_after")
    assert error(post_assign(app), 504)
    assert [row["phone_number"] for row in listed(app)] == ["+918044319240"]


def test_rate_limit_answers_429_with_retry_after_and_does_not_apply(app):
    arm(app, kind="rate_limit")
    response = post_assign(app)
    assert error(response, 429)
    assert response.headers["Retry-After"] == "1"
    assert listed(app) == []


def test_rate_limit_uses_the_rules_retry_after(app):
    arm(app, kind="rate_limit", retry_after=7)
    assert post_assign(app).headers["Retry-After"] == "7"


def test_html_answers_a_proxy_page_without_applying(app):
    arm(app, kind="html")
    response = post_assign(app)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<html>")
    assert "502 Bad Gateway" in response.text
    assert listed(app) == []


def test_drop_before_is_a_transport_error_and_does_not_apply(app):
    arm(app, kind="drop_before")
    with pytest.raises(httpx.RemoteProtocolError):
        post_assign(app)
    assert listed(app) == []


def test_drop_after_is_a_transport_error_but_applies(app):
    arm(app, kind="drop_after")
    with pytest.raises(httpx.TransportError):
        post_assign(app)
    assert [row["phone_number"] for row in listed(app)] == ["+918044319240"]


def test_slow_delays_the_answer_enough_for_a_client_timeout(app):
    arm(app, kind="slow", delay_ms=300, count=2)
    headers = {"Authorization": f"Bearer {ACME}"}

    async def impatient(client):
        request = client.post("/inbound/assign", headers=headers, json=assign_body("+918044319240"))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(request, 0.05)

    run(app, impatient)
    started = time.perf_counter()
    assert post_assign(app).status_code == 200
    assert time.perf_counter() - started >= 0.3


# -- matching and counting ----------------------------------------------------------------------


def test_rules_match_writes_by_default(app):
    arm(app, kind="error_before")
    assert listed(app) == []
    assert error(post_assign(app), 503)


def test_a_reads_rule_spares_writes(app):
    arm(app, kind="error_before", match="reads")
    assert post_assign(app).status_code == 200
    assert error(call(app, "GET", "/inbound/list"), 503)


def test_an_all_rule_hits_reads_and_writes(app):
    arm(app, kind="error_before", match="all", count=2)
    assert error(call(app, "GET", "/inbound/list"), 503)
    assert error(post_assign(app), 503)
    assert post_assign(app).status_code == 200


def test_a_method_and_prefix_rule_hits_only_that_route(app):
    inbound_id = assign(app, "+918044319240")
    arm(app, kind="error_before", match="PATCH /inbound/update")
    assert call(app, "POST", f"/inbound/detach/{inbound_id}").status_code == 200
    assert error(call(app, "PATCH", f"/inbound/update/{inbound_id}", json={}), 503)


def test_a_rule_fires_count_times_then_disarms(app):
    arm(app, kind="error_before", count=3)
    statuses = [post_assign(app).status_code for _ in range(4)]
    assert statuses == [503, 503, 503, 200]
    assert controller(app).stats()["faults"] == {"error_before": 3}


def test_rules_fire_in_the_order_they_were_armed(app):
    controller(app).add_fault({"rules": [{"kind": "rate_limit"}, {"kind": "error_before"}]})
    assert [post_assign(app).status_code for _ in range(3)] == [429, 503, 200]


def test_admin_routes_are_never_faulted(app):
    arm(app, kind="error_before", match="all", count=5)
    assert admin(app, "GET", "/_sandbox/stats").status_code == 200
    assert admin(app, "POST", "/_sandbox/latency", {"ms": 0}).status_code == 200
    assert controller(app).stats()["armed"]["rules"][0]["remaining"] == 5


def test_faults_are_armed_and_cleared_over_http(app):
    response = admin(app, "POST", "/_sandbox/faults", {"kind": "error_before", "count": 2})
    assert response.json()["data"]["rules"][0]["remaining"] == 2
    assert admin(app, "DELETE", "/_sandbox/faults").status_code == 200
    assert post_assign(app).status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "explode"},
        {"kind": "error_before", "count": 0},
        {"kind": "error_before", "count": True},
        {"kind": "error_before", "status": 99},
        {"kind": "error_before", "match": "sometimes"},
        {"kind": "error_before", "match": "GET inbound"},
        {"kind": "slow", "delay_ms": -1},
        {"kind": "rate_limit", "retry_after": [1]},
        {"kind": "error_before", "colour": "red"},
        {"rules": {"kind": "slow"}},
        {"random": {"rate": 2}},
        {"random": {"rate": 0.5, "kinds": []}},
        {"random": {"rate": 0.5, "kinds": [{"kind": "slow", "count": 2}]}},
        {"rules": ["error_before"]},
    ],
)
def test_a_malformed_rule_is_400_and_arms_nothing(app, rule):
    assert "Invalid fault rule" in error(admin(app, "POST", "/_sandbox/faults", rule), 400)
    assert controller(app).stats()["armed"] == {"rules": [], "random": None}


def test_a_rule_lists_its_resolved_defaults():
    fault, count = parse_rule({"kind": "error_after", "match": "patch /inbound/"})
    assert (fault.status, fault.match, count) == (504, "PATCH /inbound/", 1)


# -- random mode --------------------------------------------------------------------------------


def _outcomes(app, seed, n=30):
    controller(app).reset()
    controller(app).add_fault({"random": {"seed": seed, "rate": 0.5, "kinds": ["error_before"]}})
    return [post_assign(app, f"+9180443192{i:02d}").status_code for i in range(n)]


def test_random_mode_is_reproducible_from_its_seed(app):
    first = _outcomes(app, 42)
    assert _outcomes(app, 42) == first
    assert _outcomes(app, 7) != first
    assert {200, 503} == set(first)


def test_random_mode_rate_bounds(app):
    controller(app).add_fault({"random": {"rate": 0, "match": "all"}})
    assert all(post_assign(app, f"+9180443192{i:02d}").status_code == 200 for i in range(5))
    controller(app).add_fault(
        {"random": {"rate": 1, "kinds": [{"kind": "error_before", "status": 500}]}}
    )
    assert error(post_assign(app, "+918044319299"), 500)


def test_random_mode_defaults_to_every_kind_but_slow_and_duplicate_id():
    mode = parse_random({"rate": 0.1})
    assert {fault.kind for fault in mode.faults} == set(KINDS) - {"slow", "duplicate_id"}


def test_a_rule_takes_precedence_over_random_mode(app):
    controller(app).add_fault({"random": {"rate": 1, "kinds": ["error_before"]}})
    arm(app, kind="rate_limit")
    assert post_assign(app).status_code == 429
    assert post_assign(app).status_code == 503
