"""STOP_MARKET and STOP_LIMIT orders through the real server and matcher.

A stop's direction is fixed at placement by where its stop price lies against the last trade
price: above it, the stop fires when a trade prints at or above; below it, at or below. Once
fired it works as a MARKET or LIMIT order under the same id.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %, market protection 10 %. Traders start with 100 base and 100000 quote.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.spot_helpers import (
    SpotMarket,
    Trader,
    balances,
    cancel,
    limit,
    my_orders,
    new_market,
    new_trader,
    place,
    set_last_price,
)
from tests.graphql_client import GraphQLClient


async def stop(client: GraphQLClient, trader: Trader, market: SpotMarket, side: str,
               stop_price: str, quantity: str, price: str | None = None) -> dict[str, Any]:
    """A STOP_LIMIT when `price` is given, else a STOP_MARKET."""
    fields: dict[str, Any] = {"side": side, "stopPrice": stop_price, "quantity": quantity}
    if price is None:
        return await place(client, trader, market, type="STOP_MARKET", **fields)
    return await place(client, trader, market, type="STOP_LIMIT", price=price, **fields)


async def test_stop_market_below_last_fires_on_a_fall_and_sells_at_market(
        client: GraphQLClient, admin_token: str) -> None:
    # given: last price 100; a stop-market sell of 1 at 95 and a stop-market buy of 1 at 105
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    stopper = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    seller = await new_trader(client, admin_token, market)
    falling = await stop(client, stopper, market, "SELL", "95.00", "1.000")
    rising = await stop(client, stopper, market, "BUY", "105.00", "1.000")
    assert (falling["status"], falling["type"], falling["stopPrice"], falling["timeInForce"]) == (
        "NEW", "STOP_MARKET", "95.00", "IOC")
    assert (rising["status"], rising["expiryReason"]) == ("NEW", None)
    # and: bids of 1 at 95 and 2 at 94
    await limit(client, maker, market, "BUY", "95.00", "1.000")
    await limit(client, maker, market, "BUY", "94.00", "2.000")
    # when: a trade prints at 95
    trigger = await limit(client, seller, market, "SELL", "95.00", "1.000")
    assert trigger["status"] == "FILLED", trigger
    # then: the sell stop fired and sold 1 at market (the best bid left, 94); the buy stop waits
    orders = await my_orders(client, stopper, market)
    assert (orders[falling["id"]]["status"], orders[falling["id"]]["filledQuantity"],
            orders[falling["id"]]["expiryReason"]) == ("FILLED", "1.000", None)
    assert (orders[rising["id"]]["status"], orders[rising["id"]]["filledQuantity"]) == (
        "NEW", "0.000")
    # and: 94 less the 0.2 % taker fee came in; the buy stop still holds 105 x 1.1 = 115.5
    assert await balances(client, stopper, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("99978.312000", "115.500000"),
    }


async def test_stop_limit_above_last_fires_on_a_rise_and_works_as_a_limit(
        client: GraphQLClient, admin_token: str) -> None:
    # given: last price 100; a stop-limit buy of 2 at 106 from 105, a stop-limit sell below
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    stopper = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    buyer = await new_trader(client, admin_token, market)
    rising = await stop(client, stopper, market, "BUY", "105.00", "2.000", price="106.00")
    falling = await stop(client, stopper, market, "SELL", "95.00", "1.000", price="94.00")
    assert (rising["status"], rising["type"], rising["price"], rising["timeInForce"]) == (
        "NEW", "STOP_LIMIT", "106.00", "GTC")
    assert falling["status"] == "NEW"
    # and: asks of 1 at 105, 0.5 at 106 and 1 at 107
    for price, quantity in (("105.00", "1.000"), ("106.00", "0.500"), ("107.00", "1.000")):
        await limit(client, maker, market, "SELL", price, quantity)
    # when: a trade prints at 105
    trigger = await limit(client, buyer, market, "BUY", "105.00", "1.000")
    assert trigger["status"] == "FILLED", trigger
    # then: the buy stop is a limit buy of 2 at 106: it took the 0.5 at 106 and rests for 1.5
    orders = await my_orders(client, stopper, market)
    assert (orders[rising["id"]]["status"], orders[rising["id"]]["filledQuantity"]) == (
        "PARTIALLY_FILLED", "0.500")
    assert (orders[falling["id"]]["status"], orders[falling["id"]]["filledQuantity"]) == (
        "NEW", "0.000")
    # and: the buy holds 1.5 x 106 (212 less the 53 spent); the sell stop holds its 1 base
    assert await balances(client, stopper, market) == {
        market.base: ("99.49900000", "1.00000000"),
        market.quote: ("99788.000000", "159.000000"),
    }
    # when: the maker's ask at 107 is replaced by one at 106
    await limit(client, maker, market, "SELL", "106.00", "1.500")
    # then: the working stop-limit is a resting bid at 106 and fills as the maker
    orders = await my_orders(client, stopper, market)
    assert (orders[rising["id"]]["status"], orders[rising["id"]]["filledQuantity"]) == (
        "FILLED", "2.000")
    assert await balances(client, stopper, market) == {
        market.base: ("100.99750000", "1.00000000"),
        market.quote: ("99788.000000", "0.000000"),
    }


async def test_direction_follows_the_stop_price_not_the_side(client: GraphQLClient,
                                                             admin_token: str) -> None:
    # given: last price 100; a stop-market sell above it (105) and a stop-market buy below (95)
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    stopper = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    other = await new_trader(client, admin_token, market)
    sell_above = await stop(client, stopper, market, "SELL", "105.00", "1.000")
    buy_below = await stop(client, stopper, market, "BUY", "95.00", "1.000")
    assert (sell_above["status"], buy_below["status"]) == ("NEW", "NEW")
    # the buy holds what 1 may cost at 95 + 10 % market protection
    assert await balances(client, stopper, market) == {
        market.base: ("99.00000000", "1.00000000"),
        market.quote: ("99895.500000", "104.500000"),
    }
    # when: a trade prints at 105 (a bid at 104 is there to sell into)
    await limit(client, maker, market, "BUY", "104.00", "1.000")
    await limit(client, maker, market, "SELL", "105.00", "1.000")
    await limit(client, other, market, "BUY", "105.00", "1.000")
    # then: the sell stop fired on the rise and sold at 104; the buy stop still waits
    orders = await my_orders(client, stopper, market)
    assert (orders[sell_above["id"]]["status"], orders[sell_above["id"]]["filledQuantity"]) == (
        "FILLED", "1.000")
    assert orders[buy_below["id"]]["status"] == "NEW"
    # when: a trade prints at 95 (an ask at 96 is there to buy from)
    await limit(client, maker, market, "BUY", "95.00", "1.000")
    await limit(client, maker, market, "SELL", "96.00", "1.000")
    await limit(client, other, market, "SELL", "95.00", "1.000")
    # then: the buy stop fired on the fall and bought at 96
    orders = await my_orders(client, stopper, market)
    assert (orders[buy_below["id"]]["status"], orders[buy_below["id"]]["filledQuantity"]) == (
        "FILLED", "1.000")
    # and: nothing stays held: +104 - 0.208 fee - 96 quote; -1 + 1 - 0.002 fee base
    assert await balances(client, stopper, market) == {
        market.base: ("99.99800000", "0.00000000"),
        market.quote: ("100007.792000", "0.000000"),
    }


async def test_stop_at_the_last_price_or_without_one_is_rejected(client: GraphQLClient,
                                                                 admin_token: str) -> None:
    # given: a market without trades
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    # when: a stop-market sell
    no_last = await stop(client, trader, market, "SELL", "95.00", "1.000")
    # then: rejected, nothing held
    assert no_last["__typename"] == "Order", no_last
    assert (no_last["status"], no_last["expiryReason"]) == ("REJECTED", "NO_LAST_PRICE")
    # given: last price 100
    await set_last_price(client, admin_token, market, "100.00")
    # when: stops exactly at 100
    at_last = [
        await stop(client, trader, market, "SELL", "100.00", "1.000"),
        await stop(client, trader, market, "BUY", "100.00", "1.000"),
        await stop(client, trader, market, "BUY", "100.00", "1.000", price="101.00"),
    ]
    # then: all rejected as they would trigger at once, their holds given back
    assert [(o["status"], o["expiryReason"], o["filledQuantity"]) for o in at_last] == [
        ("REJECTED", "STOP_WOULD_TRIGGER_IMMEDIATELY", "0.000")] * 3
    assert await balances(client, trader, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }


async def test_canceling_a_waiting_stop_releases_its_hold(client: GraphQLClient,
                                                          admin_token: str) -> None:
    # given: last price 100; a stop-limit buy of 1 at 106 from 105 and a stop-market sell at 95
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    buy = await stop(client, trader, market, "BUY", "105.00", "1.000", price="106.00")
    sell = await stop(client, trader, market, "SELL", "95.00", "2.000")
    assert await balances(client, trader, market) == {
        market.base: ("98.00000000", "2.00000000"),
        market.quote: ("99894.000000", "106.000000"),
    }
    # when: both are canceled
    canceled = [await cancel(client, trader, orderId=o["id"]) for o in (buy, sell)]
    # then: both end CANCELED and hold nothing
    assert [(o["__typename"], o["status"], o["expiryReason"]) for o in canceled] == [
        ("Order", "CANCELED", "USER_CANCELED")] * 2
    assert await balances(client, trader, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }
