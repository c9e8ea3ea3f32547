"""Live `myBalances` over graphql-transport-ws, authenticated in connection_init."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.conftest import create_asset, fund
from tests.graphql_client import GraphQLClient, operation


def _transport(server: str, token: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        close_timeout=1,
    )


async def test_balance_changes_arrive_live(
    server: str, client: GraphQLClient, admin_token: str, user: tuple[str, str]
) -> None:
    # given
    user_id, token = user
    asset = await create_asset(client, admin_token, 4)
    await fund(client, admin_token, user_id, asset, "1")
    received: list[dict[str, Any]] = []
    async with Client(transport=_transport(server, token)) as session:
        stream = session.subscribe(GraphQLRequest(operation("ledger/my_balances")))

        async def collect(n: int) -> None:
            async for item in stream:
                received.append(item["myBalances"])
                if len(received) >= n:
                    return

        # when: the snapshot arrives first (once the projection has the funding), then changes
        first = asyncio.create_task(collect(1))
        await asyncio.wait_for(first, 10)
        await fund(client, admin_token, user_id, asset, "2.5")
        await asyncio.wait_for(collect(2), 10)
        await stream.aclose()
    # then
    assert received[0]["asset"] == asset
    assert received[-1]["available"] == "3.5000"
    assert int(received[-1]["position"]) > int(received[0]["position"])


async def test_subscription_needs_a_user(server: str) -> None:
    # when
    async with Client(transport=_transport(server, None)) as session:
        with pytest.raises(TransportQueryError) as failure:
            async for _ in session.subscribe(GraphQLRequest(operation("ledger/my_balances"))):
                pass
    # then
    assert failure.value.errors is not None
    assert failure.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_bad_token_is_refused_at_connect(server: str) -> None:
    # given
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        # when
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": "Bearer forged-token"}}
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    # then
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
