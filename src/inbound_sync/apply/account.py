"""The account as the executor sees it: one full read, and one API call per change."""

from __future__ import annotations

from inbound_sync.api import InboundClient, RemoteMapping
from inbound_sync.config import canonical_id
from inbound_sync.phone import display
from inbound_sync.plan import Change, RemoteRow, Snapshot


def to_row(mapping: RemoteMapping) -> RemoteRow:
    """The planner's view of one listed mapping."""
    config = mapping.inbound_config
    phone_number = mapping.phone_number or (config.phone_number if config else None) or ""
    return RemoteRow(
        inbound_id=mapping.inbound_id,
        normalized=mapping.phone_number_normalized,
        phone_number=phone_number,
        assistant_id=_canonical(mapping.assistant_id),
        strategy_id=_canonical(mapping.inbound_context_strategy_id),
        assistant_name=mapping.assistant_name,
        strategy_name=mapping.inbound_context_strategy_name,
        updated_at=mapping.updated_at,
        created_at=_shared(mapping.created_at, mapping.updated_at),
    )


def _shared(created: str | None, updated: str | None) -> str | None:
    """`created`, as the very object `updated` when they are equal: a mapping never changed
    since its creation (most of a large account) then costs no second string per row."""
    return updated if created == updated else created


def _canonical(ident: str | None) -> str | None:
    """Ids compare in canonical form, as the config writes them; a non-UUID is kept as sent."""
    if ident is None:
        return None
    return canonical_id(ident) or ident


class ClientAccount:
    """Adapts InboundClient to the executor's Account protocol."""

    def __init__(self, client: InboundClient, service: str = "exotel") -> None:
        self.client = client
        self.service = service

    async def snapshot(self) -> Snapshot:
        return Snapshot(
            rows=tuple(to_row(m) for m in await self.client.list(label="list the account"))
        )

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
