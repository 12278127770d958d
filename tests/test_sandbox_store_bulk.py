"""Seeding many mappings at once: one statement, yet the same errors as inserting one by one."""

from __future__ import annotations

import re

import pytest

from inbound_sync.sandbox import SeedError, parse_seed
from inbound_sync.sandbox.store import NUMBER_TAKEN, Store
from sandbox_fixtures import FakeClock

ASSISTANT = "a"


def _seed(mappings: list[dict[str, str | None]]) -> dict[str, object]:
    tenant = {"api_key": "k", "assistants": {ASSISTANT: "A"}, "mappings": mappings}
    return {"tenants": {"t": tenant}}


def _numbers(count: int) -> list[dict[str, str | None]]:
    return [{"phone_number": f"+9180410{i:05d}", "assistant_id": ASSISTANT} for i in range(count)]


@pytest.fixture
def store():
    store = Store(":memory:", clock=FakeClock())
    yield store
    store.close()


def test_a_large_seed_loads_every_mapping(store):
    store.load(parse_seed(_seed(_numbers(3000))))
    listed = store.list_active("t")
    assert len(listed) == 3000
    assert {m.phone_number_normalized for m in listed} == {f"9180410{i:05d}" for i in range(3000)}
    assert {m.assistant_id for m in listed} == {ASSISTANT}


def test_a_number_repeated_in_a_seed_names_the_repeat_and_loads_nothing(store):
    mappings = _numbers(10)
    mappings[7]["phone_number"] = mappings[2]["phone_number"]
    with pytest.raises(SeedError, match=re.escape(f"tenants.t.mappings[7]: {NUMBER_TAKEN}")):
        store.load(parse_seed(_seed(mappings)))
    assert store.is_empty()


def test_a_repeated_inbound_id_is_named(store):
    mappings = _numbers(5)
    mappings[1]["inbound_id"] = mappings[4]["inbound_id"] = "same"
    with pytest.raises(SeedError, match=r"mappings\[4\]: UNIQUE constraint failed"):
        store.load(parse_seed(_seed(mappings)))
    assert store.is_empty()


@pytest.mark.parametrize(("conflict", "foreign", "named"), [(3, 6, 3), (6, 2, 2)])
def test_the_first_mapping_at_fault_is_the_one_named(store, conflict, foreign, named):
    # One by one, the first bad mapping stops the load; in bulk it must still be that one.
    mappings = _numbers(10)
    mappings[conflict]["phone_number"] = mappings[0]["phone_number"]
    mappings[foreign]["assistant_id"] = "not-ours"
    with pytest.raises(SeedError, match=re.escape(f"tenants.t.mappings[{named}]:")):
        store.load(parse_seed(_seed(mappings)))
    assert store.is_empty()
