"""Identical public trade subscriptions share one stream (backend/api/shared_feeds.py): each
subscriber still gets every trade once, under its own operation id; one leaving does not end
the others; a bad market is an error for each of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from tests.e2e.spot_helpers import limit, new_market, new_trader
from tests.graphql_client import GraphQLClient, operation


@asynccontextmanager
async def subscribed(server: str, op_id: str, market: str) -> AsyncIterator[ClientConnection]:
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {
            "query": operation("market_data/on_trades"), "variables": {"market": market}}}))
        await asyncio.sleep(0.3)  # subscribed before the trades happen
        yield ws


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return message


async def test_identical_subscriptions_each_get_every_trade(
    client: GraphQLClient, admin_token: str, server: str
) -> None:
    # given: three subscribers to the same market's trades (two with the same operation id)
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    async with subscribed(server, "a", market.symbol) as first, \
            subscribed(server, "b", market.symbol) as second, \
            subscribed(server, "a", market.symbol) as third:
        # when: a trade, then the second subscriber leaves, then another trade
        await limit(client, maker, market, "SELL", "100.00", "0.500")
        await limit(client, taker, market, "BUY", "100.00", "0.500")
        got = [await next_message(ws) for ws in (first, second, third)]
        await second.send(json.dumps({"id": "b", "type": "complete"}))
        await limit(client, maker, market, "SELL", "101.00", "0.250")
        await limit(client, taker, market, "BUY", "101.00", "0.250")
        later = [await next_message(ws) for ws in (first, third)]
    # then: the same trade, each under its own id; the others went on after one left
    assert [m["id"] for m in got] == ["a", "b", "a"]
    assert all(m["type"] == "next" for m in got + later)
    trades = [m["payload"]["data"]["trades"] for m in got]
    assert trades[0] == trades[1] == trades[2]
    assert (trades[0]["price"], trades[0]["quantity"]) == ("100.00", "0.500")
    assert [m["payload"]["data"]["trades"]["price"] for m in later] == ["101.00", "101.00"]


async def test_a_bad_market_is_an_error_for_every_subscriber(server: str) -> None:
    # when
    async with subscribed(server, "x", "NO-SUCH") as first, \
            subscribed(server, "y", "NO-SUCH") as second:
        answers = [await next_message(ws) for ws in (first, second)]
    # then: each gets the typed error (then nothing more for it)
    assert [a["id"] for a in answers] == ["x", "y"]
    for answer in answers:
        errors = answer["payload"]["errors"] if answer["type"] == "next" else answer["payload"]
        assert errors[0]["extensions"]["code"] in ("NOT_FOUND", "VALIDATION_ERROR"), answer
