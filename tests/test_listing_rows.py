"""A listing's rows: ids in canonical form, and repeated ids and names kept once per listing."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from inbound_sync.api import RemoteMapping
from inbound_sync.apply.account import Seen, to_row

MAPPING = TypeAdapter(RemoteMapping)
SUPPORT = "550e8400-e29b-41d4-a716-446655440000"


def listed(number: str, **fields: object) -> RemoteMapping:
    data = {"inbound_id": f"id-{number}", "phone_number_normalized": number, **fields}
    return MAPPING.validate_json(json.dumps(data))


def test_rows_of_one_listing_share_each_id_and_name() -> None:
    seen = Seen({}, {})
    first, second = (
        to_row(listed(n, assistant_id=SUPPORT.upper(), assistant_name="Support"), seen)
        for n in ("918044319240", "918044319241")
    )
    assert first.assistant_id == SUPPORT
    assert second.assistant_id is first.assistant_id
    assert second.assistant_name is first.assistant_name
    assert seen.ids == {SUPPORT.upper(): SUPPORT}


def test_a_name_that_reads_like_an_id_is_kept_as_written() -> None:
    seen = Seen({}, {})
    to_row(listed("918044319240", assistant_id=SUPPORT.upper()), seen)
    row = to_row(listed("918044319241", assistant_name=SUPPORT.upper()), seen)
    assert row.assistant_name == SUPPORT.upper()


def test_a_non_uuid_id_is_kept_as_sent_and_remembered() -> None:
    seen = Seen({}, {})
    rows = [to_row(listed(n, inbound_context_strategy_id="crm-1"), seen) for n in ("91", "92")]
    assert [r.strategy_id for r in rows] == ["crm-1", "crm-1"]
    assert seen.ids == {"crm-1": "crm-1"}
