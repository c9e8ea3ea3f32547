"""Time in force and post-only through the real server and matcher: GTC rests, IOC takes what it
can, FOK takes everything or nothing, post-only never takes.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %. Traders start with 100 base and 100000 quote.
"""

from __future__ import annotations

from tests.e2e.spot_helpers import balances, limit, my_orders, new_market, new_trader, place
from tests.graphql_client import GraphQLClient

UNTOUCHED = ("100.00000000", "0.00000000")


async def test_gtc_takes_what_crosses_and_rests_the_rest(client: GraphQLClient,
                                                         admin_token: str) -> None:
    # given: an ask of 1 at 100
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100.00", "1.000")
    # when: a GTC buy of 3 at 101
    order = await limit(client, taker, market, "BUY", "101.00", "3.000", timeInForce="GTC")
    # then: 1 fills at 100, the other 2 rest at 101
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"], order["timeInForce"]) == (
        "PARTIALLY_FILLED", None, "GTC")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("1.000", "100.000000")
    # and: the hold is what the resting 2 may cost at 101 (the 1 of improvement went back)
    assert await balances(client, taker, market) == {
        market.base: ("100.99800000", "0.00000000"),
        market.quote: ("99698.000000", "202.000000"),
    }
    orders = await my_orders(client, taker, market)
    assert orders[order["id"]]["status"] == "PARTIALLY_FILLED"


async def test_ioc_fills_what_it_can_and_expires_the_rest(client: GraphQLClient,
                                                          admin_token: str) -> None:
    # given: asks of 1 at 100 and 1 at 102
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100.00", "1.000")
    beyond = await limit(client, maker, market, "SELL", "102.00", "1.000")
    # when: an IOC buy of 3 at 101
    order = await limit(client, taker, market, "BUY", "101.00", "3.000", timeInForce="IOC")
    # then: 1 fills at 100, the rest expires; the ask at 102 is untouched
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"], order["timeInForce"]) == (
        "EXPIRED", "IOC_UNFILLED", "IOC")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("1.000", "100.000000")
    assert [(f["price"], f["quantity"]) for f in order["fills"]] == [("100.00", "1.000")]
    assert await balances(client, taker, market) == {
        market.base: ("100.99800000", "0.00000000"),
        market.quote: ("99900.000000", "0.000000"),
    }
    maker_orders = await my_orders(client, maker, market)
    assert (maker_orders[beyond["id"]]["status"], maker_orders[beyond["id"]]["filledQuantity"]) \
        == ("NEW", "0.000")
    # when: an IOC sell that crosses nothing
    nothing = await limit(client, taker, market, "SELL", "105.00", "1.000", timeInForce="IOC")
    # then: it expires unfilled and its base is no longer held
    assert (nothing["status"], nothing["expiryReason"], nothing["filledQuantity"]) == (
        "EXPIRED", "IOC_UNFILLED", "0.000")
    assert (await balances(client, taker, market))[market.base] == ("100.99800000", "0.00000000")


async def test_fok_fills_completely_across_levels(client: GraphQLClient,
                                                  admin_token: str) -> None:
    # given: asks of 1 at 100 and 1 at 101
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100.00", "1.000")
    await limit(client, maker, market, "SELL", "101.00", "1.000")
    # when: a FOK buy of 2 at 101
    order = await limit(client, taker, market, "BUY", "101.00", "2.000", timeInForce="FOK")
    # then: it fills in full at the makers' prices
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"], order["timeInForce"]) == (
        "FILLED", None, "FOK")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("2.000", "201.000000")
    assert await balances(client, taker, market) == {
        market.base: ("101.99600000", "0.00000000"),
        market.quote: ("99799.000000", "0.000000"),
    }


async def test_fok_that_cannot_fill_in_full_trades_nothing(client: GraphQLClient,
                                                           admin_token: str) -> None:
    # given: asks of 1 at 100 and 1 at 101
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    first = await limit(client, maker, market, "SELL", "100.00", "1.000")
    second = await limit(client, maker, market, "SELL", "101.00", "1.000")
    # when: a FOK buy of 2.5 at 101 (only 2 on offer) and one of 2 at 100.50 (only 1 that cheap)
    too_big = await limit(client, taker, market, "BUY", "101.00", "2.500", timeInForce="FOK")
    too_low = await limit(client, taker, market, "BUY", "100.50", "2.000", timeInForce="FOK")
    # then: both expire without a single fill
    for order in (too_big, too_low):
        assert order["__typename"] == "Order", order
        assert (order["status"], order["expiryReason"]) == ("EXPIRED", "FOK_NOT_FILLABLE")
        assert (order["filledQuantity"], order["fills"]) == ("0.000", [])
    # and: the book and every balance are as before
    maker_orders = await my_orders(client, maker, market)
    assert [(maker_orders[o["id"]]["status"], maker_orders[o["id"]]["filledQuantity"])
            for o in (first, second)] == [("NEW", "0.000"), ("NEW", "0.000")]
    assert await balances(client, taker, market) == {
        market.base: UNTOUCHED, market.quote: ("100000.000000", "0.000000")}
    assert await balances(client, maker, market) == {
        market.base: ("98.00000000", "2.00000000"), market.quote: ("100000.000000", "0.000000")}
    # when: a FOK sell with no bids at all
    no_bids = await limit(client, taker, market, "SELL", "99.00", "1.000", timeInForce="FOK")
    # then: it expires the same way
    assert (no_bids["status"], no_bids["expiryReason"], no_bids["filledQuantity"]) == (
        "EXPIRED", "FOK_NOT_FILLABLE", "0.000")
    assert (await balances(client, taker, market))[market.base] == UNTOUCHED


async def test_post_only_rests_when_it_would_not_take(client: GraphQLClient,
                                                      admin_token: str) -> None:
    # given: an ask of 1 at 100
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    trader = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100.00", "1.000")
    # when: post-only buys at 99.99 and a post-only sell at 100 (joining the ask)
    bid = await limit(client, trader, market, "BUY", "99.99", "1.000", postOnly=True)
    ask = await limit(client, trader, market, "SELL", "100.00", "0.500", postOnly=True)
    # then: both rest as makers, holding their funds
    for order in (bid, ask):
        assert order["__typename"] == "Order", order
        assert (order["status"], order["expiryReason"], order["postOnly"]) == (
            "NEW", None, True)
    assert await balances(client, trader, market) == {
        market.base: ("99.50000000", "0.50000000"),
        market.quote: ("99900.010000", "99.990000"),
    }


async def test_post_only_that_would_take_is_rejected(client: GraphQLClient,
                                                     admin_token: str) -> None:
    # given: an ask of 1 at 100
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    trader = await new_trader(client, admin_token, market)
    ask = await limit(client, maker, market, "SELL", "100.00", "1.000")
    # when: a post-only buy at 100
    order = await limit(client, trader, market, "BUY", "100.00", "1.000", postOnly=True)
    # then: rejected with nothing traded, its hold given back, the ask untouched
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("REJECTED", "POST_ONLY_WOULD_TAKE")
    assert (order["filledQuantity"], order["fills"]) == ("0.000", [])
    assert await balances(client, trader, market) == {
        market.base: UNTOUCHED, market.quote: ("100000.000000", "0.000000")}
    assert (await my_orders(client, maker, market))[ask["id"]]["status"] == "NEW"
    # when: post-only combined with IOC, and on a market order
    ioc = await limit(client, trader, market, "BUY", "99.00", "1.000", postOnly=True,
                      timeInForce="IOC")
    market_order = await place(client, trader, market, side="SELL", type="MARKET",
                               quantity="1.000", postOnly=True)
    # then: both are refused up front, naming the field
    for refused in (ioc, market_order):
        assert refused["__typename"] == "ValidationError", refused
        assert refused["field"] == "postOnly"
