"""The contract suite: our client against the sandbox, in-process (ASGI) and over a real socket.

The same assertions hold both ways; each checks one rule of the reference document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from e2e_support import client_for
from inbound_sync.api import InboundClient
from inbound_sync.errors import AuthError, BadRequestError, ConflictError, NotFoundError
from inbound_sync.sandbox.server import running_server
from sandbox_fixtures import CRM, GLOBEX_NUMBER, SALES, SUPPORT, controller, sandbox_app

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module", params=["asgi", "socket"])
def transport(request):
    with sandbox_app() as app:
        if request.param == "asgi":
            yield app, None
        else:
            with running_server(app) as url:
                yield app, url


@pytest.fixture
def call(transport) -> Callable[..., Any]:
    """Run `scenario(client)` with a fresh account state."""
    app, url = transport
    controller(app).reset()

    def run(
        scenario: Callable[[InboundClient], Awaitable[Any]], key: str = "sandbox-key-acme"
    ) -> Any:
        async def main() -> Any:
            client = client_for(None, url, key=key) if url else client_for(app, key=key)
            async with client:
                return await scenario(client)

        return asyncio.run(main())

    return run


def test_assign_then_list_shows_names_and_normalized_number(call):
    async def scenario(client):
        made = await client.assign(
            phone_number="+918044319240", assistant_id=SUPPORT, inbound_context_strategy_id=CRM
        )
        return made, await client.list()

    made, listed = call(scenario)
    assert made.phone_number_normalized == "918044319240"
    assert made.inbound_context_strategy_name == "CRM lookup"
    [row] = listed
    assert (row.inbound_id, row.assistant_name, row.inbound_context_strategy_name) == (
        made.inbound_id,
        "Support Assistant",
        "CRM lookup",
    )
    assert row.inbound_config is not None
    assert row.inbound_config.type == "exotel"


def test_update_changes_only_the_fields_given_and_null_clears(call):
    async def scenario(client):
        made = await client.assign(
            phone_number="+918044319240", assistant_id=SUPPORT, inbound_context_strategy_id=CRM
        )
        first = await client.update(made.inbound_id, assistant_id=SALES)
        second = await client.update(made.inbound_id, inbound_context_strategy_id=None)
        return first, second

    first, second = call(scenario)
    assert (first.assistant_id, first.inbound_context_strategy_id) == (SALES, CRM)
    assert (second.assistant_id, second.inbound_context_strategy_id) == (SALES, None)


def test_detach_clears_both_and_keeps_the_row_listed(call):
    async def scenario(client):
        made = await client.assign(
            phone_number="+918044319240", assistant_id=SUPPORT, inbound_context_strategy_id=CRM
        )
        await client.detach(made.inbound_id)
        return await client.list()

    [row] = call(scenario)
    assert (row.assistant_id, row.inbound_context_strategy_id, row.assistant_name) == (
        None,
        None,
        None,
    )


def test_delete_releases_the_number_for_reuse(call):
    async def scenario(client):
        made = await client.assign(phone_number="+918044319240", assistant_id=SUPPORT)
        await client.delete(made.inbound_id)
        gone = await client.list()
        again = await client.assign(phone_number="080 4431 9240", assistant_id=SALES)
        return gone, again

    gone, again = call(scenario)
    assert gone == ()
    assert again.phone_number_normalized == "918044319240"


def test_a_number_active_anywhere_is_a_409(call):
    async def scenario(client):
        await client.assign(phone_number=GLOBEX_NUMBER, assistant_id=SUPPORT)

    with pytest.raises(ConflictError, match="already assigned to an active mapping"):
        call(scenario)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"assistant_id": MISSING}, "Assistant not found"),
        ({"inbound_context_strategy_id": MISSING}, "strategy not found"),
    ],
)
def test_unknown_assistant_or_strategy_is_a_404(call, fields, message):
    async def scenario(client):
        await client.assign(phone_number="+918044319240", **{"assistant_id": SUPPORT, **fields})

    with pytest.raises(NotFoundError, match=message):
        call(scenario)


def test_another_tenants_assistant_is_not_found(call):
    async def scenario(client):
        await client.assign(phone_number="+918044319240", assistant_id=SUPPORT)

    with pytest.raises(NotFoundError):
        call(scenario, key="sandbox-key-globex")


@pytest.mark.parametrize("operation", ["update", "detach", "delete"])
def test_unknown_mapping_is_a_404(call, operation):
    async def scenario(client):
        if operation == "update":
            await client.update(MISSING, assistant_id=SUPPORT)
        else:
            await getattr(client, operation)(MISSING)

    with pytest.raises(NotFoundError):
        call(scenario)


def test_invalid_number_and_unsupported_service_are_400(call):
    async def bad_number(client):
        await client.assign(phone_number="12", assistant_id=SUPPORT)

    async def bad_service(client):
        await client.assign(phone_number="+918044319240", assistant_id=SUPPORT, service="twilio")

    with pytest.raises(BadRequestError):
        call(bad_number)
    with pytest.raises(BadRequestError):
        call(bad_service)


def test_unknown_key_is_refused(call):
    async def scenario(client):
        await client.list()

    with pytest.raises(AuthError, match="refused"):
        call(scenario, key="not-a-key")


def test_deleting_a_strategy_detaches_it_from_active_mappings(call, transport):
    app, _ = transport

    async def assign(client):
        return await client.assign(
            phone_number="+918044319240", assistant_id=SUPPORT, inbound_context_strategy_id=CRM
        )

    async def listing(client):
        return await client.list()

    call(assign)
    assert controller(app).delete_strategy(CRM) == 1
    [row] = call(listing)
    assert (row.assistant_id, row.inbound_context_strategy_id) == (SUPPORT, None)
