"""Live order updates over graphql-transport-ws."""

from __future__ import annotations

import asyncio
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.spot_helpers import limit, new_market, new_trader
from tests.graphql_client import GraphQLClient, operation


def _transport(server: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"authorization": f"Bearer {token}"},
        close_timeout=1,
    )


async def test_my_orders_snapshot_then_changes(server: str, client: GraphQLClient,
                                               admin_token: str) -> None:
    # given: one open order before subscribing
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market, fresh=True)  # no orders elsewhere
    taker = await new_trader(client, admin_token, market)
    resting = await limit(client, maker, market, "SELL", "100", "2")
    seen: list[dict[str, Any]] = []
    async with Client(transport=_transport(server, maker.token)) as session:
        stream = session.subscribe(GraphQLRequest(operation("spot/on_my_orders")))

        async def until(predicate: Any) -> None:
            async for item in stream:
                seen.append(item["myOrders"])
                if predicate(seen[-1]):
                    return

        # when: the snapshot, then a partial fill by someone else
        await asyncio.wait_for(until(lambda o: o["id"] == resting["id"]), 10)
        await limit(client, taker, market, "BUY", "100", "0.5")
        await asyncio.wait_for(until(lambda o: o["status"] == "PARTIALLY_FILLED"), 10)
        await stream.aclose()
    # then
    assert next(o["status"] for o in seen if o["id"] == resting["id"]) == "NEW"
    assert seen[-1] == {"id": resting["id"], "clientOrderId": resting["clientOrderId"],
                        "status": "PARTIALLY_FILLED", "filledQuantity": "0.500",
                        "expiryReason": None}
