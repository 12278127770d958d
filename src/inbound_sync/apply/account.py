"""The account as the executor sees it: one full read, and one API call per change."""

from __future__ import annotations

from typing import NamedTuple

from inbound_sync.api import InboundClient, RemoteMapping
from inbound_sync.config import canonical_id
from inbound_sync.phone import display
from inbound_sync.plan import Change, RemoteRow, Snapshot


class Seen(NamedTuple):
    """The ids (raw to canonical) and names already met in one listing.

    A large account names a handful of assistants and strategies on every row: each row then
    refers to the same text instead of parsing the id again and keeping a copy of its own.
    """

    ids: dict[str, str]
    names: dict[str, str]


def to_row(mapping: RemoteMapping, known: Seen | None = None) -> RemoteRow:
    """The planner's view of one listed mapping."""
    seen = known if known is not None else Seen({}, {})
    config = mapping.inbound_config
    phone_number = mapping.phone_number or (config.phone_number if config else None) or ""
    return RemoteRow(
        inbound_id=mapping.inbound_id,
        normalized=mapping.phone_number_normalized,
        phone_number=phone_number,
        assistant_id=_canonical(mapping.assistant_id, seen.ids),
        strategy_id=_canonical(mapping.inbound_context_strategy_id, seen.ids),
        assistant_name=_once(mapping.assistant_name, seen.names),
        strategy_name=_once(mapping.inbound_context_strategy_name, seen.names),
        updated_at=mapping.updated_at,
        created_at=_shared(mapping.created_at, mapping.updated_at),
    )


def _shared(created: str | None, updated: str | None) -> str | None:
    """`created`, as the very object `updated` when they are equal: a mapping never changed
    since its creation (most of a large account) then costs no second string per row."""
    return updated if created == updated else created


def _canonical(ident: str | None, seen: dict[str, str]) -> str | None:
    """Ids compare in canonical form, as the config writes them; a non-UUID is kept as sent."""
    if ident is None:
        return None
    found = seen.get(ident)
    if found is None:
        found = seen[ident] = canonical_id(ident) or ident
    return found


def _once(text: str | None, seen: dict[str, str]) -> str | None:
    """`text`, as the first equal string of the listing (names repeat on every row)."""
    return None if text is None else seen.setdefault(text, text)


class ClientAccount:
    """Adapts InboundClient to the executor's Account protocol."""

    def __init__(self, client: InboundClient, service: str = "exotel") -> None:
        self.client = client
        self.service = service

    async def snapshot(self) -> Snapshot:
        known = Seen({}, {})
        listed = await self.client.list(label="list the account")
        return Snapshot(rows=tuple(to_row(m, known) for m in listed))

    async def write(self, change: Change) -> None:
        label = f"{change.action} {display(change.normalized)}"
        inbound_id = change.inbound_id or ""
        if change.action == "assign":
            after = change.after
            await self.client.assign(
                phone_number=change.e164,
                assistant_id=after.assistant_id if after and after.assistant_id else "",
                inbound_context_strategy_id=after.strategy_id if after else None,
                service=self.service,
                label=label,
            )
        elif change.action == "update":
            await self.client.update(inbound_id, **change.patch_body(), label=label)
        elif change.action == "detach":
            await self.client.detach(inbound_id, label=label)
        else:
            await self.client.delete(inbound_id, label=label)
