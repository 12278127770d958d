"""The answers of the API as typed records: the document's examples, leniency and strictness."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from api_payloads import (
    ASSIGN_RESPONSE,
    DELETE_RESPONSE,
    DETACH_RESPONSE,
    LIST_RESPONSE,
    UPDATE_RESPONSE,
    load,
)
from inbound_sync.api import (
    DeleteResult,
    DetachResult,
    InboundConfig,
    RemoteMapping,
    UpdateResult,
)

MAPPING = TypeAdapter(RemoteMapping)


def listed(data: object) -> RemoteMapping:
    """A mapping as the client reads one off the wire (strict JSON validation)."""
    return MAPPING.validate_json(json.dumps(data))


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(load(LIST_RESPONSE)["data"][0])
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


def test_list_example_parses_field_by_field() -> None:
    mapping = listed(load(LIST_RESPONSE)["data"][0])
    assert mapping == RemoteMapping(
        inbound_id="9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
        phone_number="+918044319240",
        phone_number_normalized="918044319240",
        inbound_config=InboundConfig(type="exotel", phone_number="+918044319240"),
        assistant_id="550e8400-e29b-41d4-a716-446655440000",
        assistant_name="Support Assistant",
        inbound_context_strategy_id="f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de",
        inbound_context_strategy_name="CRM lookup",
        service="exotel",
        created_at="2026-03-18T11:30:00Z",
        updated_at="2026-03-18T11:30:00Z",
    )


def test_assign_example_without_names_or_timestamps_parses() -> None:
    mapping = listed(load(ASSIGN_RESPONSE)["data"])
    assert mapping.inbound_context_strategy_name == "CRM lookup"
    assert (mapping.assistant_name, mapping.created_at, mapping.updated_at) == (None, None, None)


def test_update_detach_delete_examples_parse() -> None:
    updated = UpdateResult.model_validate(load(UPDATE_RESPONSE)["data"])
    detached = DetachResult.model_validate(load(DETACH_RESPONSE)["data"])
    deleted = DeleteResult.model_validate(load(DELETE_RESPONSE)["data"])
    assert updated.assistant_id == "de305d54-75b4-431b-adb2-eb6b9e546014"
    assert (detached.assistant_id, detached.inbound_context_strategy_id) == (None, None)
    assert deleted.inbound_id == "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"


def test_mappings_are_immutable() -> None:
    mapping = listed(_row())
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.assistant_id = "other"  # type: ignore[misc]


def test_unknown_fields_are_ignored() -> None:
    mapping = listed(_row(region="IN", is_active=True))
    assert not hasattr(mapping, "region")


@pytest.mark.parametrize(
    "field",
    [
        "assistant_id",
        "assistant_name",
        "inbound_context_strategy_id",
        "inbound_context_strategy_name",
        "created_at",
        "updated_at",
        "inbound_config",
        "phone_number",
        "service",
    ],
)
def test_descriptive_fields_may_be_null_or_missing(field: str) -> None:
    assert getattr(listed(_row(**{field: None})), field) is None
    assert getattr(listed(_row(**{field: ...})), field) is None


@pytest.mark.parametrize("field", ["inbound_id", "phone_number_normalized"])
@pytest.mark.parametrize("value", [..., None, "", 918044319240])
def test_identity_fields_must_be_non_empty_strings(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        listed(_row(**{field: value}))


def test_ids_are_not_coerced_from_other_types() -> None:
    with pytest.raises(ValidationError):
        listed(_row(assistant_id=42))
