"""The /_sandbox/ admin endpoints, and the same controls called directly on app.state.sandbox."""

from __future__ import annotations

import asyncio
import time

import pytest

from inbound_sync.sandbox import create_app
from sandbox_fixtures import (
    ACME,
    CRM,
    GLOBEX,
    GLOBEX_ASSISTANT,
    GLOBEX_MAPPING,
    SALES,
    admin,
    assign,
    call,
    controller,
    error,
    listed,
    run,
    sandbox_app,
)

ADMIN_ROUTES = [
    ("POST", "/_sandbox/reset", None),
    ("POST", "/_sandbox/seed", {"tenants": {}}),
    ("DELETE", f"/_sandbox/strategies/{CRM}", None),
    ("DELETE", f"/_sandbox/assistants/{SALES}", None),
    ("POST", "/_sandbox/latency", {"ms": 0}),
    ("POST", "/_sandbox/rate-limit", {"rate": 5}),
    ("DELETE", "/_sandbox/rate-limit", None),
    ("POST", "/_sandbox/faults", {"kind": "slow"}),
    ("DELETE", "/_sandbox/faults", None),
    ("GET", "/_sandbox/stats", None),
    ("GET", "/_sandbox/mappings", None),
    ("PATCH", f"/_sandbox/mappings/{GLOBEX_MAPPING}", {"assistant_id": None}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
@pytest.mark.parametrize("key", [None, ACME, "wrong"])
def test_admin_endpoints_refuse_anything_but_the_admin_token(app, method, path, body, key):
    assert "admin token" in error(call(app, method, path, key=key, json=body), 401)
    assert controller(app).faults.describe()["rules"] == []
    assert len(controller(app).all_mappings()) == 1


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_endpoints_accept_the_admin_token(app, method, path, body):
    response = admin(app, method, path, body)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True


def test_the_admin_token_comes_from_the_argument_then_the_seed_then_is_generated():
    with sandbox_app(admin_token="mine") as app:
        assert controller(app).admin_token == "mine"
    with sandbox_app() as app:
        assert controller(app).admin_token == "sandbox-admin"
    with sandbox_app(seed=None) as one, sandbox_app(seed=None) as two:
        tokens = {controller(one).admin_token, controller(two).admin_token}
        assert len(tokens) == 2
        assert all(len(token) >= 16 for token in tokens)


# -- reset and seed ---------------------------------------------------------------------------


def test_reset_reloads_the_seed_and_clears_faults_and_counters(app):
    assign(app, "+918044319240")
    controller(app).add_fault({"kind": "slow", "count": 3})
    assert admin(app, "POST", "/_sandbox/reset").status_code == 200
    assert listed(app) == []
    assert [row["inbound_id"] for row in listed(app, GLOBEX)] == [GLOBEX_MAPPING]
    stats = controller(app).stats()
    assert stats["armed"]["rules"] == []
    assert stats["writes"] == 0
    assert stats["requests"] == {"GET /inbound/list": 2}


def test_reset_without_seed_empties_everything(app):
    assert admin(app, "POST", "/_sandbox/reset", {"seed": False}).status_code == 200
    assert controller(app).all_mappings() == []
    assert error(call(app, "GET", "/inbound/list"), 401)


def test_reset_rejects_a_non_boolean_seed_flag(app):
    assert error(admin(app, "POST", "/_sandbox/reset", {"seed": "no"}), 400)


def test_posting_a_seed_adds_a_tenant(app):
    seed = {
        "tenants": {
            "initech": {
                "api_key": "key-initech",
                "assistants": {"a-1": "Milton"},
                "mappings": [{"phone_number": "+918044319300", "assistant_id": "a-1"}],
            }
        }
    }
    response = admin(app, "POST", "/_sandbox/seed", seed)
    assert response.json()["data"] == {"tenants": ["acme", "globex", "initech"]}
    [row] = listed(app, "key-initech")
    assert (row["phone_number_normalized"], row["assistant_name"]) == ("918044319300", "Milton")
    assert listed(app) == []


@pytest.mark.parametrize(
    "seed",
    [
        {"tenants": {"acme": {"api_key": "again"}}},
        {"tenants": {"new": {"api_key": "k", "mappings": [{"phone_number": "+918044319999"}]}}},
        {"tenants": {"new": {"api_key": "k"}}, "extra": 1},
        [],
    ],
)
def test_a_seed_that_clashes_or_is_malformed_is_400_and_adds_nothing(app, seed):
    assert error(admin(app, "POST", "/_sandbox/seed", seed), 400)
    assert sorted(controller(app).api_keys()) == ["acme", "globex"]


# -- strategies, latency, stats -----------------------------------------------------------------


def test_deleting_a_strategy_detaches_it_from_every_active_mapping(app):
    first = assign(app, "+918044319240", strategy=CRM)
    second = assign(app, "+918044319241", strategy=CRM)
    response = admin(app, "DELETE", f"/_sandbox/strategies/{CRM}")
    assert response.json()["data"] == {"strategy_id": CRM, "detached": 2}
    rows = listed(app)
    assert {row["inbound_id"] for row in rows} == {first, second}
    assert {(row["inbound_context_strategy_id"], row["assistant_name"]) for row in rows} == {
        (None, "Support Assistant")
    }
    response = call(
        app, "PATCH", f"/inbound/update/{first}", json={"inbound_context_strategy_id": CRM}
    )
    assert error(response, 404) == "Inbound context strategy not found"


def test_deleting_an_unknown_strategy_is_404(app):
    assert error(admin(app, "DELETE", "/_sandbox/strategies/nope"), 404)


@pytest.mark.parametrize("body", [{}, {"ms": -1}, {"ms": "5"}, {"ms": True}, {"ms": 60_001}])
def test_latency_must_be_a_sane_integer(app, body):
    assert error(admin(app, "POST", "/_sandbox/latency", body), 400)


def test_latency_delays_requests_without_blocking_the_others(app):
    assert admin(app, "POST", "/_sandbox/latency", {"ms": 200}).status_code == 200
    assert controller(app).stats()["latency_ms"] == 200
    headers = {"Authorization": f"Bearer {ACME}"}

    async def five_at_once(client):
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(client.get("/inbound/list", headers=headers) for _ in range(5))
        )
        return time.perf_counter() - started, responses

    elapsed, responses = run(app, five_at_once)
    assert all(response.status_code == 200 for response in responses)
    # Five requests of 200 ms each: serial would take a second, overlapping about 0.2 s.
    assert 0.2 <= elapsed < 0.8


def test_latency_does_not_apply_to_admin_requests(app):
    controller(app).set_latency(3_000)
    started = time.perf_counter()
    assert admin(app, "GET", "/_sandbox/stats").status_code == 200
    assert time.perf_counter() - started < 2


def test_stats_count_requests_by_route_writes_applied_and_faults_by_kind(app):
    inbound_id = assign(app, "+918044319240")
    call(app, "PATCH", f"/inbound/update/{inbound_id}", json={"assistant_id": SALES})
    call(app, "PATCH", "/inbound/update/unknown", json={"assistant_id": SALES})
    controller(app).add_fault({"kind": "error_before"})
    call(app, "POST", f"/inbound/detach/{inbound_id}")
    listed(app)
    stats = admin(app, "GET", "/_sandbox/stats").json()["data"]
    assert stats["requests"] == {
        "GET /inbound/list": 1,
        "PATCH /inbound/update/{inbound_id}": 2,
        "POST /inbound/assign": 1,
        "POST /inbound/detach/{inbound_id}": 1,
    }
    assert stats["writes"] == 2
    assert stats["faults"] == {"error_before": 1}


# -- what happens behind the API's back ---------------------------------------------------------


def test_the_mappings_view_shows_every_tenant_and_inactive_rows(app):
    inbound_id = assign(app, "+918044319240")
    call(app, "DELETE", f"/inbound/delete/{inbound_id}")
    rows = admin(app, "GET", "/_sandbox/mappings").json()["data"]
    by_id = {row["inbound_id"]: row for row in rows}
    assert (by_id[inbound_id]["tenant"], by_id[inbound_id]["active"]) == ("acme", False)
    assert (by_id[GLOBEX_MAPPING]["tenant"], by_id[GLOBEX_MAPPING]["active"]) == ("globex", True)


def test_an_out_of_band_change_shows_up_in_the_list(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    body = {"assistant_id": SALES, "inbound_context_strategy_id": None}
    response = admin(app, "PATCH", f"/_sandbox/mappings/{inbound_id}", body)
    assert response.json()["data"]["assistant_id"] == SALES
    [row] = listed(app)
    assert (row["assistant_name"], row["inbound_context_strategy_id"]) == ("Sales Assistant", None)
    assert controller(app).stats()["writes"] == 1


def test_an_out_of_band_change_of_an_unknown_mapping_is_404(app):
    assert error(admin(app, "PATCH", "/_sandbox/mappings/nope", {"assistant_id": None}), 404)


def test_an_out_of_band_change_validates_its_fields(app):
    assert error(
        admin(app, "PATCH", f"/_sandbox/mappings/{GLOBEX_MAPPING}", {"assistant_id": 5}), 400
    )


def test_the_controller_is_reachable_without_http():
    app = create_app(seed=None, admin_token="t")
    try:
        sandbox = app.state.sandbox
        sandbox.seed({"tenants": {"t": {"api_key": "k", "assistants": {"a": "A"}}}})
        assign(app, "+918044319240", key="k", assistant="a")
        assert [m.phone_number for m in sandbox.all_mappings()] == ["+918044319240"]
        sandbox.reset()
        assert sandbox.all_mappings() == []
        assert sandbox.api_keys() == {}
    finally:
        app.state.sandbox.close()


def test_names_are_resolved_for_the_calling_tenant_only(app):
    inbound_id = assign(app, "+918044319240", strategy=CRM)
    body = {"assistant_id": GLOBEX_ASSISTANT}
    assert admin(app, "PATCH", f"/_sandbox/mappings/{inbound_id}", body).status_code == 200
    [row] = listed(app)
    assert (row["assistant_id"], row["assistant_name"]) == (GLOBEX_ASSISTANT, None)
    assert row["inbound_context_strategy_name"] == "CRM lookup"
