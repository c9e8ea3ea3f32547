"""Market data through the real server: book, trades, candles and ticker, and a live order book
that resyncs when a published change is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis.asyncio as aioredis
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from backend.settings import Settings
from tests.e2e.spot_helpers import limit, new_market, new_trader
from tests.graphql_client import GraphQLClient, operation


async def _eventually(client: GraphQLClient, name: str, variables: dict[str, Any],
                      done: Any) -> dict[str, Any]:
    """Projections follow the matcher within milliseconds; poll until they have."""
    for _ in range(200):
        data = await client.run(name, variables)
        if done(data):
            return data
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never satisfied: {data}")


async def test_book_trades_candles_and_ticker(client: GraphQLClient, admin_token: str) -> None:
    # given: two asks, one of them partly taken
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100", "2")
    await limit(client, maker, market, "SELL", "101", "1")
    await limit(client, taker, market, "BUY", "100", "0.5")
    # when
    book = await _eventually(client, "market_data/order_book", {"market": market.symbol},
                             lambda d: d["orderBook"]["asks"][:1] == [
                                 {"price": "100.00", "quantity": "1.500"}])
    trades = await client.run("market_data/trades", {"market": market.symbol})
    ticker = await _eventually(client, "market_data/ticker", {"market": market.symbol},
                               lambda d: d["ticker"]["last"] == "100.00")
    # then
    assert book["orderBook"]["asks"] == [{"price": "100.00", "quantity": "1.500"},
                                         {"price": "101.00", "quantity": "1.000"}]
    assert book["orderBook"]["bids"] == []
    assert str(trades).count("100.00") >= 1
    assert ticker["ticker"]["last"] == "100.00"


async def test_live_order_book_resyncs_after_a_lost_message(
    server: str, client: GraphQLClient, admin_token: str, settings: Settings
) -> None:
    # given: a subscriber that has its snapshot
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100", "1")
    await _eventually(client, "market_data/order_book", {"market": market.symbol},
                      lambda d: d["orderBook"]["asks"] != [])
    transport = WebsocketsTransport(
        url=server.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL], close_timeout=1)
    redis = aioredis.from_url(settings.redis_url)
    updates: list[dict[str, Any]] = []
    try:
        async with Client(transport=transport) as session:
            stream = session.subscribe(GraphQLRequest(operation("market_data/on_order_book"),
                                                      variable_values={"market": market.symbol}))

            async def next_update() -> dict[str, Any]:
                item = await anext(stream)
                updates.append(item["orderBook"])
                return updates[-1]

            first = await asyncio.wait_for(next_update(), 10)
            # when: a change is published whose predecessor never arrived (a lost message)
            sequence = int(first["sequence"])
            await redis.publish(f"market:{market.symbol}:book", orjson.dumps({
                "market": market.symbol, "sequence": sequence + 2,
                "changes": [{"sequence": sequence + 2, "side": "SELL", "price": "105.00",
                             "quantity": "9.000"}]}))
            # ... and the market moves on past it (two more book changes)
            await limit(client, maker, market, "SELL", "102", "1")
            await limit(client, maker, market, "SELL", "103", "1")
            resync = await asyncio.wait_for(next_update(), 10)
            while not resync["snapshot"]:
                resync = await asyncio.wait_for(next_update(), 10)
            await stream.aclose()
    finally:
        await redis.aclose()
    # then: the client is given a fresh snapshot from the store instead of a book with a hole
    assert resync["snapshot"] is True
    assert int(resync["sequence"]) >= sequence + 2
    assert [a["price"] for a in resync["asks"]] == ["100.00", "102.00", "103.00"]
