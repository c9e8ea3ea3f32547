"""What is refused up front (filters, statuses, limits, funds, clientOrderId reuse) changes
nothing; a DISABLED market cancels resting orders and releases their funds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.spot_helpers import (
    SpotMarket,
    balances,
    limit,
    new_market,
    new_trader,
    place,
    set_last_price,
)
from tests.graphql_client import GraphQLClient


async def _set_status(client: GraphQLClient, admin_token: str, market: SpotMarket,
                      status: str) -> None:
    data = await client.run("admin/update_market", {"input": {
        "symbol": market.symbol, "status": status, "reason": "test"}}, token=admin_token)
    assert data["adminUpdateMarket"]["status"] == status


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"side": "BUY", "type": "LIMIT", "price": "100.001", "quantity": "1"}, "price"),
        ({"side": "BUY", "type": "LIMIT", "price": "100", "quantity": "1.0001"}, "quantity"),
        ({"side": "BUY", "type": "LIMIT", "price": "100", "quantity": "0.0005"}, "quantity"),
        ({"side": "BUY", "type": "LIMIT", "price": "100", "quantity": "1001"}, "quantity"),
        ({"side": "BUY", "type": "LIMIT", "price": "0.5", "quantity": "1"}, "quantity"),
        ({"side": "BUY", "type": "LIMIT", "quantity": "1"}, "price"),
        ({"side": "BUY", "type": "LIMIT", "price": "-1", "quantity": "1"}, "price"),
        ({"side": "BUY", "type": "LIMIT", "price": "1e2", "quantity": "1"}, "price"),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "quoteQuantity": "10"}, "quantity"),
        ({"side": "BUY", "type": "MARKET", "price": "100", "quoteQuantity": "10"}, "price"),
        ({"side": "BUY", "type": "STOP_LIMIT", "price": "100", "quantity": "1"}, "stopPrice"),
        ({"side": "BUY", "type": "LIMIT", "price": "100", "quantity": "1",
          "timeInForce": "IOC", "postOnly": True}, "postOnly"),
        ({"side": "BUY", "type": "LIMIT", "price": "100", "quantity": "1",
          "clientOrderId": "bad id!"}, "clientOrderId"),
    ],
)
async def test_filters_refuse_with_the_field_and_change_nothing(
    client: GraphQLClient, admin_token: str, order: dict[str, Any], field: str
) -> None:
    # given
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    before = await balances(client, trader)
    # when
    result = await place(client, trader, market, **order)
    # then
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert await balances(client, trader) == before


async def test_price_band_around_the_last_price(client: GraphQLClient, admin_token: str) -> None:
    # given: a last price of 100 and a band of 50%
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100", "1")
    await limit(client, taker, market, "BUY", "100", "1")
    # when
    too_high = await limit(client, maker, market, "SELL", "150.01", "1")
    inside = await limit(client, maker, market, "SELL", "150", "1")
    # then
    assert too_high["__typename"] == "ValidationError"
    assert "PERCENT_PRICE" in too_high["message"]
    assert inside["status"] == "NEW"


async def test_insufficient_funds_changes_nothing(client: GraphQLClient, admin_token: str) -> None:
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market, base="1", quote="50")
    before = await balances(client, trader)
    result = await limit(client, trader, market, "BUY", "100", "1")
    assert result["__typename"] == "InsufficientFundsError"
    assert result["asset"] == market.quote
    assert await balances(client, trader) == before


async def test_client_order_id_retry_and_reuse(client: GraphQLClient, admin_token: str) -> None:
    # given
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    order = {"side": "BUY", "type": "LIMIT", "price": "90", "quantity": "1",
             "clientOrderId": "retry-" + market.base}
    first = await place(client, trader, market, **order)
    # when: the same request again, in parallel, and a different one with the same id
    again = await asyncio.gather(*[place(client, trader, market, **order) for _ in range(5)])
    other = await place(client, trader, market, **{**order, "price": "91"})
    # then: one order, one hold
    assert {r["id"] for r in again} == {first["id"]}
    assert other["__typename"] == "DuplicateClientOrderIdError"
    assert (await balances(client, trader))[market.quote] == ("99910.000000", "90.000000")


async def test_statuses_accept_only_what_they_name(client: GraphQLClient, admin_token: str) -> None:
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    plain = {"side": "BUY", "type": "LIMIT", "price": "90", "quantity": "1"}
    await _set_status(client, admin_token, market, "POST_ONLY")
    assert (await place(client, trader, market, **plain))["__typename"] == "MarketUnavailableError"
    assert (await place(client, trader, market, **plain, postOnly=True))["status"] == "NEW"
    await _set_status(client, admin_token, market, "LIMIT_ONLY")
    market_order = {"side": "SELL", "type": "MARKET", "quantity": "1"}
    assert (await place(client, trader, market, **market_order))["__typename"] == \
        "MarketUnavailableError"
    assert (await place(client, trader, market, **plain))["status"] == "NEW"
    await _set_status(client, admin_token, market, "CANCEL_ONLY")
    refused = await place(client, trader, market, **plain)
    assert refused["__typename"] == "MarketUnavailableError"
    assert refused["code"] == "MARKET_UNAVAILABLE"


async def test_disabling_cancels_resting_orders_and_releases_funds(
    client: GraphQLClient, admin_token: str
) -> None:
    # given
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    resting = await limit(client, trader, market, "BUY", "90", "2")
    assert (await balances(client, trader))[market.quote][1] == "180.000000"
    # when
    await _set_status(client, admin_token, market, "DISABLED")
    # then
    for _ in range(100):
        data = await client.run("spot/my_orders", {"market": market.symbol}, token=trader.token)
        node = data["myOrders"]["edges"][0]["node"]
        if node["status"] == "CANCELED":
            break
        await asyncio.sleep(0.05)
    assert node["id"] == resting["id"]
    assert (node["status"], node["expiryReason"]) == ("CANCELED", "MARKET_DISABLED")
    assert (await balances(client, trader))[market.quote] == ("100000.000000", "0.000000")


async def test_open_order_limit_per_market(client: GraphQLClient, admin_token: str) -> None:
    # given: the test server allows 20 open orders per market (EXCHANGE_MAX_OPEN_ORDERS)
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    for i in range(20):
        assert (await limit(client, trader, market, "BUY", f"{50 + i}", "1"))["status"] == "NEW"
    # when
    refused = await limit(client, trader, market, "BUY", "49", "1")
    # then
    assert refused["__typename"] == "LimitExceededError"


async def test_open_stop_order_limit(client: GraphQLClient, admin_token: str) -> None:
    # given: a last price, and the test server's limit of 3 open stop orders per market
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100")
    trader = await new_trader(client, admin_token, market, fresh=True)
    stop = {"side": "SELL", "type": "STOP_MARKET", "quantity": "1"}
    for price in ("90", "91", "92"):
        assert (await place(client, trader, market, stopPrice=price, **stop))["status"] == "NEW"
    # when
    refused = await place(client, trader, market, stopPrice="93", **stop)
    # then
    assert refused["__typename"] == "LimitExceededError"
