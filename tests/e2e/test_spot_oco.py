"""OCO orders (placeOcoOrder) through the real server and matcher: a post-only limit leg and a
stop leg for the same quantity, one hold for both; whichever leg acts first ends the other.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %, market protection 10 %. Traders start with 100 base and 100000 quote.
"""

from __future__ import annotations

from tests.e2e.spot_helpers import (
    balances,
    cancel,
    limit,
    my_orders,
    new_market,
    new_trader,
    oco,
    set_last_price,
)
from tests.graphql_client import GraphQLClient

NOTHING_HELD = ("100.00000000", "0.00000000"), ("100000.000000", "0.000000")


async def test_oco_places_both_legs_under_one_hold(client: GraphQLClient,
                                                   admin_token: str) -> None:
    # given: last price 100
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    # when: a sell OCO of 1 (limit 110, stop-market 90) and a buy OCO of 1 (limit 90,
    # stop-limit 111 from 110)
    sell = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00",
                     clientOrderId="sell-oco")
    buy = await oco(client, trader, market, "BUY", "1.000", "90.00", "110.00",
                    stopLimitPrice="111.00")
    # then: each has a post-only limit leg and a stop leg, both working, in one group
    assert sell["__typename"] == "OcoOrder", sell
    assert buy["__typename"] == "OcoOrder", buy
    limit_leg, stop_leg = sell["limitOrder"], sell["stopOrder"]
    assert (limit_leg["type"], limit_leg["status"], limit_leg["price"], limit_leg["quantity"],
            limit_leg["postOnly"]) == ("LIMIT", "NEW", "110.00", "1.000", True)
    assert (stop_leg["type"], stop_leg["status"], stop_leg["stopPrice"], stop_leg["price"],
            stop_leg["quantity"]) == ("STOP_MARKET", "NEW", "90.00", None, "1.000")
    assert limit_leg["ocoGroupId"] == stop_leg["ocoGroupId"] == limit_leg["id"]
    assert (buy["stopOrder"]["type"], buy["stopOrder"]["price"], buy["stopOrder"]["status"]) == (
        "STOP_LIMIT", "111.00", "NEW")
    assert buy["limitOrder"]["status"] == "NEW"
    # and: one hold per OCO: 1 base for the sell; for the buy, the dearer leg's 111, not 90 + 111
    assert await balances(client, trader, market) == {
        market.base: ("99.00000000", "1.00000000"),
        market.quote: ("99889.000000", "111.000000"),
    }
    # and: the stop leg carries the client id with a suffix
    orders = await my_orders(client, trader, market)
    assert orders[stop_leg["id"]]["clientOrderId"] == "sell-oco~stop"


async def test_oco_prices_must_straddle_the_last_price(client: GraphQLClient,
                                                       admin_token: str) -> None:
    # given: a market without trades
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    # when: a sell OCO
    no_last = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00")
    # then: both legs rejected
    assert (no_last["limitOrder"]["status"], no_last["limitOrder"]["expiryReason"],
            no_last["stopOrder"]["status"], no_last["stopOrder"]["expiryReason"]) == (
        "REJECTED", "NO_LAST_PRICE", "REJECTED", "NO_LAST_PRICE")
    # given: last price 100
    await set_last_price(client, admin_token, market, "100.00")
    # when: OCOs whose prices do not lie on both sides of 100
    wrong = [
        await oco(client, trader, market, "SELL", "1.000", "110.00", "105.00"),  # stop above
        await oco(client, trader, market, "SELL", "1.000", "99.00", "90.00"),  # limit below
        await oco(client, trader, market, "SELL", "1.000", "110.00", "100.00"),  # stop at last
        await oco(client, trader, market, "BUY", "1.000", "101.00", "110.00"),  # limit above
        await oco(client, trader, market, "BUY", "1.000", "90.00", "95.00"),  # stop below
    ]
    # then: every leg is rejected, and nothing stays held
    for pair in wrong:
        assert pair["__typename"] == "OcoOrder", pair
        assert [(leg["status"], leg["expiryReason"])
                for leg in (pair["limitOrder"], pair["stopOrder"])] == [
            ("REJECTED", "OCO_PRICES_NOT_STRADDLING")] * 2
    assert await balances(client, trader, market) == dict(
        zip((market.base, market.quote), NOTHING_HELD, strict=True))
    # when: a sell OCO whose limit leg (110) would take a bid at 110.50
    bidder = await new_trader(client, admin_token, market)
    await limit(client, bidder, market, "BUY", "110.50", "1.000")
    taking = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00")
    # then: the limit leg is post-only, so both legs are rejected
    assert [(leg["status"], leg["expiryReason"])
            for leg in (taking["limitOrder"], taking["stopOrder"])] == [
        ("REJECTED", "POST_ONLY_WOULD_TAKE")] * 2
    assert await balances(client, trader, market) == dict(
        zip((market.base, market.quote), NOTHING_HELD, strict=True))


async def test_a_fill_of_the_limit_leg_ends_the_stop_leg(client: GraphQLClient,
                                                         admin_token: str) -> None:
    # given: last price 100; a sell OCO of 2 (limit 110, stop 90)
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    other = await new_trader(client, admin_token, market)
    pair = await oco(client, trader, market, "SELL", "2.000", "110.00", "90.00")
    limit_id, stop_id = pair["limitOrder"]["id"], pair["stopOrder"]["id"]
    # when: someone buys 0.5 at 110
    bought = await limit(client, other, market, "BUY", "110.00", "0.500")
    assert bought["status"] == "FILLED", bought
    # then: the limit leg works on for 1.5; the stop leg has expired
    orders = await my_orders(client, trader, market)
    assert (orders[limit_id]["status"], orders[limit_id]["filledQuantity"]) == (
        "PARTIALLY_FILLED", "0.500")
    assert (orders[stop_id]["status"], orders[stop_id]["expiryReason"]) == (
        "EXPIRED", "OCO_SIBLING_FILLED")
    assert await balances(client, trader, market) == {
        market.base: ("98.00000000", "1.50000000"),
        market.quote: ("100054.945000", "0.000000"),
    }
    # when: a trade prints at 90
    await limit(client, other, market, "BUY", "90.00", "1.000")
    await limit(client, other, market, "SELL", "90.00", "1.000", selfTradePrevention="NONE")
    # then: no stop fires: the limit leg still offers 1.5 at 110
    orders = await my_orders(client, trader, market)
    assert (orders[limit_id]["status"], orders[limit_id]["filledQuantity"]) == (
        "PARTIALLY_FILLED", "0.500")
    assert orders[stop_id]["status"] == "EXPIRED"
    assert (await balances(client, trader, market))[market.base] == ("98.00000000", "1.50000000")


async def test_the_stop_trigger_ends_the_limit_leg_then_executes(client: GraphQLClient,
                                                                 admin_token: str) -> None:
    # given: last price 100; a sell OCO of 1 (limit 110, stop-market 90); bids at 90 and 89
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    seller = await new_trader(client, admin_token, market)
    pair = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00")
    limit_id, stop_id = pair["limitOrder"]["id"], pair["stopOrder"]["id"]
    await limit(client, maker, market, "BUY", "90.00", "1.000")
    await limit(client, maker, market, "BUY", "89.00", "1.000")
    # when: a trade prints at 90
    await limit(client, seller, market, "SELL", "90.00", "1.000")
    # then: the limit leg expired and the stop leg sold 1 at market (89)
    orders = await my_orders(client, trader, market)
    assert (orders[limit_id]["status"], orders[limit_id]["expiryReason"],
            orders[limit_id]["filledQuantity"]) == ("EXPIRED", "OCO_SIBLING_TRIGGERED", "0.000")
    assert (orders[stop_id]["status"], orders[stop_id]["filledQuantity"]) == (
        "FILLED", "1.000")
    # and: the one hold paid for exactly one sale: 89 less 0.178 fee, nothing left locked
    assert await balances(client, trader, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("100088.822000", "0.000000"),
    }


async def test_a_triggered_stop_limit_leg_rests_on_the_shared_hold(client: GraphQLClient,
                                                                   admin_token: str) -> None:
    # given: last price 100; a sell OCO of 1 (limit 110, stop-limit 89 from 90); a bid at 90
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    seller = await new_trader(client, admin_token, market)
    pair = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00",
                     stopLimitPrice="89.00")
    limit_id, stop_id = pair["limitOrder"]["id"], pair["stopOrder"]["id"]
    await limit(client, maker, market, "BUY", "90.00", "1.000")
    # when: a trade prints at 90, taking the only bid
    trigger = await limit(client, seller, market, "SELL", "90.00", "1.000")
    assert trigger["status"] == "FILLED", trigger
    # then: the limit leg expired; the stop leg is a limit sell of 1 at 89, resting on the
    # OCO's one hold
    orders = await my_orders(client, trader, market)
    assert (orders[limit_id]["status"], orders[limit_id]["expiryReason"]) == (
        "EXPIRED", "OCO_SIBLING_TRIGGERED")
    assert (orders[stop_id]["status"], orders[stop_id]["filledQuantity"]) == ("NEW", "0.000")
    assert await balances(client, trader, market) == {
        market.base: ("99.00000000", "1.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }
    # when: someone buys 1 at 89
    await limit(client, maker, market, "BUY", "89.00", "1.000")
    # then: the stop leg sells as the maker, and nothing stays held
    orders = await my_orders(client, trader, market)
    assert (orders[stop_id]["status"], orders[stop_id]["filledQuantity"]) == ("FILLED", "1.000")
    assert await balances(client, trader, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("100088.911000", "0.000000"),
    }


async def test_a_triggered_buy_stop_leg_spends_from_the_shared_hold(client: GraphQLClient,
                                                                   admin_token: str) -> None:
    # given: last price 100; a buy OCO of 1 (limit 90, stop-market 110): holds 110 x 1.1 = 121
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    maker = await new_trader(client, admin_token, market)
    buyer = await new_trader(client, admin_token, market)
    pair = await oco(client, trader, market, "BUY", "1.000", "90.00", "110.00")
    limit_id, stop_id = pair["limitOrder"]["id"], pair["stopOrder"]["id"]
    assert (await balances(client, trader, market))[market.quote] == (
        "99879.000000", "121.000000")
    # and: asks of 1 at 110 and 1 at 112
    await limit(client, maker, market, "SELL", "110.00", "1.000")
    await limit(client, maker, market, "SELL", "112.00", "1.000")
    # when: a trade prints at 110
    await limit(client, buyer, market, "BUY", "110.00", "1.000")
    # then: the limit leg expired, the stop leg bought 1 at 112, the other 9 went back
    orders = await my_orders(client, trader, market)
    assert (orders[limit_id]["status"], orders[limit_id]["expiryReason"]) == (
        "EXPIRED", "OCO_SIBLING_TRIGGERED")
    assert (orders[stop_id]["status"], orders[stop_id]["filledQuantity"]) == (
        "FILLED", "1.000")
    assert await balances(client, trader, market) == {
        market.base: ("100.99800000", "0.00000000"),
        market.quote: ("99888.000000", "0.000000"),
    }


async def test_canceling_either_leg_cancels_both(client: GraphQLClient,
                                                 admin_token: str) -> None:
    # given: last price 100; two sell OCOs of 1 (limit 110, stop 90)
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    first = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00")
    second = await oco(client, trader, market, "SELL", "1.000", "110.00", "90.00",
                       clientOrderId="second-oco")
    # when: the first's stop leg is canceled by id, the second's limit leg by client id
    by_stop = await cancel(client, trader, orderId=first["stopOrder"]["id"])
    by_limit = await cancel(client, trader, clientOrderId="second-oco")
    # then: all four legs are canceled and nothing is held
    assert (by_stop["__typename"], by_stop["id"], by_stop["status"]) == (
        "Order", first["stopOrder"]["id"], "CANCELED")
    assert (by_limit["__typename"], by_limit["id"], by_limit["status"]) == (
        "Order", second["limitOrder"]["id"], "CANCELED")
    orders = await my_orders(client, trader, market)
    legs = [p[leg]["id"] for p in (first, second) for leg in ("limitOrder", "stopOrder")]
    assert [(orders[i]["status"], orders[i]["expiryReason"]) for i in legs] == [
        ("CANCELED", "USER_CANCELED")] * 4
    assert await balances(client, trader, market) == dict(
        zip((market.base, market.quote), NOTHING_HELD, strict=True))
