"""The SQLite store: the partial unique index, persistence, and the seed format."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from inbound_sync.sandbox import SeedError, create_app, parse_seed, read_seed
from inbound_sync.sandbox.store import (
    Conflict,
    NewMapping,
    NotFound,
    Store,
    timestamp,
)
from sandbox_fixtures import (
    CRM,
    GLOBEX_ASSISTANT,
    SEED_PATH,
    SUPPORT,
    FakeClock,
    assign,
    controller,
    listed,
    sandbox_app,
)


def _new(number: str, normalized: str, assistant: str | None = None) -> NewMapping:
    config = {"type": "exotel", "phone_number": number}
    return NewMapping(number, normalized, config, assistant, None)


@pytest.fixture
def store():
    store = Store(":memory:", clock=FakeClock())
    store.load(parse_seed({"tenants": {"t": {"api_key": "k", "assistants": {"a": "A"}}}}))
    yield store
    store.close()


def test_active_uniqueness_is_a_partial_unique_index(store):
    rows = store._db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'mappings_active_number'"
    ).fetchall()
    assert len(rows) == 1
    sql = " ".join(rows[0]["sql"].split())
    assert "UNIQUE INDEX" in sql
    assert sql.endswith("(phone_number_normalized) WHERE active = 1")


def test_the_database_itself_refuses_a_second_active_row(store):
    store.assign("t", _new("+918044319240", "918044319240"))
    insert = (
        "INSERT INTO mappings (inbound_id, tenant, phone_number, phone_number_normalized, service,"
        " inbound_config, active, created_at, updated_at) VALUES (?, 't', 'x', ?, 'exotel', '{}',"
        " ?, 'now', 'now')"
    )
    store._db.execute(insert, ("inactive-copy", "918044319240", 0))
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute(insert, ("active-copy", "918044319240", 1))


def test_assign_turns_the_integrity_error_into_a_conflict(store):
    store.assign("t", _new("+918044319240", "918044319240"))
    with pytest.raises(Conflict):
        store.assign("t", _new("080 4431 9240", "918044319240"))
    assert len(store.list_active("t")) == 1


def test_delete_marks_inactive_and_clears_references(store):
    mapping = store.assign("t", _new("+918044319240", "918044319240", "a"))
    store.delete("t", mapping.inbound_id)
    [row] = store.all_mappings()
    assert (row.active, row.assistant_id, row.inbound_context_strategy_id) == (False, None, None)
    assert store.list_active("t") == []


def test_a_file_database_keeps_its_data_and_is_seeded_only_when_empty(tmp_path):
    db = tmp_path / "sandbox.sqlite"
    with sandbox_app(db=db) as app:
        inbound_id = assign(app, "+918044319240")
    with sandbox_app(db=db) as app:
        assert [row["inbound_id"] for row in listed(app)] == [inbound_id]
        assert len([m for m in controller(app).all_mappings() if m.tenant == "globex"]) == 1


def test_delete_strategy_detaches_every_mapping_using_it_and_counts_them():
    with sandbox_app() as app:
        using = {assign(app, f"+91804431924{n}", strategy=CRM) for n in range(2)}
        other = assign(app, "+918044319249")
        sandbox = controller(app)
        assert sandbox.delete_strategy(CRM) == 2
        rows = {row["inbound_id"]: row for row in listed(app)}
        assert set(rows) == {*using, other}
        assert all(row["inbound_context_strategy_id"] is None for row in rows.values())
        assert all(row["assistant_id"] == SUPPORT for row in rows.values())
        with pytest.raises(NotFound):
            sandbox.delete_strategy(CRM)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 18, 11, 30, 5, 999, tzinfo=timezone.utc), "2026-03-18T11:30:05Z"),
        (datetime(2026, 3, 18, 17, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), None),
        (datetime(2026, 3, 18, 11, 30), "2026-03-18T11:30:00Z"),
    ],
)
def test_timestamps_are_utc_to_the_second_with_z(moment, text):
    assert timestamp(moment) == (text or "2026-03-18T11:30:00Z")


# -- seeds ----------------------------------------------------------------------------------------


def test_the_example_seed_declares_the_documented_tenants():
    seed = read_seed(SEED_PATH)
    assert seed.admin_token == "sandbox-admin"
    tenants = {tenant.name: tenant for tenant in seed.tenants}
    assert tenants["acme"].api_key == "sandbox-key-acme"
    assert dict(tenants["acme"].assistants) == {
        "550e8400-e29b-41d4-a716-446655440000": "Support Assistant",
        "de305d54-75b4-431b-adb2-eb6b9e546014": "Sales Assistant",
    }
    assert dict(tenants["acme"].strategies) == {CRM: "CRM lookup"}
    assert tenants["globex"].api_key == "sandbox-key-globex"
    [mapping] = tenants["globex"].mappings
    assert (mapping.phone_number_normalized, mapping.assistant_id) == (
        "918044319999",
        GLOBEX_ASSISTANT,
    )


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([], "seed"),
        ({"tenant": {}}, "unknown key 'tenant'"),
        ({"tenants": {"t": {}}}, "tenants.t.api_key"),
        ({"tenants": {"t": {"api_key": "k", "colour": 1}}}, "unknown key 'colour'"),
        ({"tenants": {"t": {"api_key": "k", "assistants": ["a"]}}}, "tenants.t.assistants"),
        ({"tenants": {"t": {"api_key": "k", "mappings": {}}}}, "tenants.t.mappings"),
        (
            {"tenants": {"t": {"api_key": "k", "mappings": [{"phone_number": "12"}]}}},
            "tenants.t.mappings[0].phone_number",
        ),
        ({"admin_token": 5}, "admin_token"),
    ],
)
def test_a_malformed_seed_names_the_field(document, where):
    with pytest.raises(SeedError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_seed(document)


@pytest.mark.parametrize(
    ("tenants", "where"),
    [
        (
            {
                "t": {
                    "api_key": "k",
                    "mappings": [{"phone_number": "+918044319240", "assistant_id": "x"}],
                }
            },
            "Assistant not found",
        ),
        ({"t": {"api_key": "k"}, "u": {"api_key": "k"}}, "tenants.u: clashes"),
        (
            {
                "t": {"api_key": "k", "assistants": {"a": "A"}},
                "u": {"api_key": "j", "assistants": {"a": "B"}},
            },
            "tenants.u",
        ),
    ],
)
def test_a_seed_that_contradicts_itself_loads_nothing(tenants, where):
    store = Store()
    try:
        with pytest.raises(SeedError, match=where):
            store.load(parse_seed({"tenants": tenants}))
        assert store.is_empty()
    finally:
        store.close()


def test_read_seed_names_the_file(tmp_path):
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"t": {"api_key": 3}}}), encoding="utf-8")
    with pytest.raises(SeedError, match=r"seed\.yaml: tenants\.t\.api_key"):
        read_seed(path)
    path.write_text("tenants: [unclosed", encoding="utf-8")
    with pytest.raises(SeedError, match=r"seed\.yaml: not valid YAML"):
        read_seed(path)
    with pytest.raises(SeedError, match="cannot read"):
        read_seed(tmp_path / "missing.yaml")


def test_a_seed_that_fails_leaves_the_database_empty_for_a_fixed_one(tmp_path):
    db = tmp_path / "db.sqlite"
    mapping = {"phone_number": "+918044319240", "assistant_id": "a"}
    tenant = {"api_key": "k", "mappings": [mapping]}
    with pytest.raises(SeedError, match="Assistant not found"):
        create_app(db=db, seed={"tenants": {"t": tenant}})
    tenant["assistants"] = {"a": "A"}
    with sandbox_app(db=db, seed={"tenants": {"t": tenant}}) as app:
        assert [row["phone_number"] for row in listed(app, "k")] == ["+918044319240"]
