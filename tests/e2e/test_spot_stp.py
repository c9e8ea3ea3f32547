"""Self-trade prevention through the real server and matcher: what happens when one user's new
order would trade with that user's own resting order. The taker's mode decides.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %, market protection 10 %. Traders start with 100 base and 100000 quote.
"""

from __future__ import annotations

from tests.e2e.spot_helpers import (
    balances,
    limit,
    my_orders,
    new_market,
    new_trader,
    place,
    set_last_price,
)
from tests.graphql_client import GraphQLClient


async def test_expire_taker_is_the_default(client: GraphQLClient, admin_token: str) -> None:
    # given: another user's ask of 1 at 100 and the trader's own ask of 1 at 101
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    other = await new_trader(client, admin_token, market)
    await limit(client, other, market, "SELL", "100.00", "1.000")
    own = await limit(client, trader, market, "SELL", "101.00", "1.000")
    # when: the trader buys 2 up to 101, naming no STP mode
    taker = await limit(client, trader, market, "BUY", "101.00", "2.000")
    # then: it buys the other user's 1, then expires rather than trade with itself
    assert taker["__typename"] == "Order", taker
    assert (taker["selfTradePrevention"], taker["status"], taker["expiryReason"]) == (
        "EXPIRE_TAKER", "EXPIRED", "STP")
    assert (taker["filledQuantity"], taker["filledQuoteQuantity"]) == ("1.000", "100.000000")
    # and: the own ask is untouched and still holds its 1
    orders = await my_orders(client, trader, market)
    assert (orders[own["id"]]["status"], orders[own["id"]]["filledQuantity"]) == (
        "NEW", "0.000")
    assert await balances(client, trader, market) == {
        market.base: ("99.99800000", "1.00000000"),
        market.quote: ("99900.000000", "0.000000"),
    }


async def test_expire_maker_expires_the_own_order_and_goes_on(client: GraphQLClient,
                                                              admin_token: str) -> None:
    # given: the trader's own ask of 1 at 100 and another user's ask of 1 at 101
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    other = await new_trader(client, admin_token, market)
    own = await limit(client, trader, market, "SELL", "100.00", "1.000")
    await limit(client, other, market, "SELL", "101.00", "1.000")
    # when: the trader buys 1 up to 101 with EXPIRE_MAKER
    taker = await limit(client, trader, market, "BUY", "101.00", "1.000",
                        selfTradePrevention="EXPIRE_MAKER")
    # then: the own ask expires and the buy fills from the other user at 101
    assert (taker["status"], taker["expiryReason"], taker["filledQuantity"]) == (
        "FILLED", None, "1.000")
    assert [(f["price"], f["quantity"]) for f in taker["fills"]] == [("101.00", "1.000")]
    orders = await my_orders(client, trader, market)
    assert (orders[own["id"]]["status"], orders[own["id"]]["expiryReason"],
            orders[own["id"]]["filledQuantity"]) == ("EXPIRED", "STP", "0.000")
    assert await balances(client, trader, market) == {
        market.base: ("100.99800000", "0.00000000"),
        market.quote: ("99899.000000", "0.000000"),
    }


async def test_expire_both_expires_taker_and_maker(client: GraphQLClient,
                                                   admin_token: str) -> None:
    # given: the trader's own bid of 1 at 100
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    own = await limit(client, trader, market, "BUY", "100.00", "1.000")
    # when: the trader sells 1 at 100 with EXPIRE_BOTH
    taker = await limit(client, trader, market, "SELL", "100.00", "1.000",
                        selfTradePrevention="EXPIRE_BOTH")
    # then: both orders expire unfilled and nothing stays held
    assert (taker["status"], taker["expiryReason"], taker["filledQuantity"]) == (
        "EXPIRED", "STP", "0.000")
    orders = await my_orders(client, trader, market)
    assert (orders[own["id"]]["status"], orders[own["id"]]["expiryReason"]) == (
        "EXPIRED", "STP")
    assert await balances(client, trader, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }


async def test_none_lets_the_user_trade_with_itself(client: GraphQLClient,
                                                    admin_token: str) -> None:
    # given: the trader's own ask of 1 at 100
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    own = await limit(client, trader, market, "SELL", "100.00", "1.000")
    # when: the trader buys 1 at 100 with NONE
    taker = await limit(client, trader, market, "BUY", "100.00", "1.000",
                        selfTradePrevention="NONE")
    # then: the trade happens, and both sides pay their fee
    assert (taker["status"], taker["selfTradePrevention"]) == ("FILLED", "NONE")
    assert [(f["price"], f["quantity"], f["fee"], f["isMaker"]) for f in taker["fills"]] == [
        ("100.00", "1.000", "0.00200000", False)]
    assert (await my_orders(client, trader, market))[own["id"]]["status"] == "FILLED"
    # 100 - 1 + (1 - 0.002) base; 100000 - 100 + (100 - 0.1) quote
    assert await balances(client, trader, market) == {
        market.base: ("99.99800000", "0.00000000"),
        market.quote: ("99999.900000", "0.000000"),
    }


async def test_fok_checks_stp_before_trading_anything(client: GraphQLClient,
                                                      admin_token: str) -> None:
    # given: the trader's own ask of 1 at 100 and another user's ask of 1 at 101
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    other = await new_trader(client, admin_token, market)
    own = await limit(client, trader, market, "SELL", "100.00", "1.000")
    others = await limit(client, other, market, "SELL", "101.00", "1.000")
    # when: FOK buys of 1 at 101 with EXPIRE_TAKER, and of 2 at 101 with EXPIRE_MAKER
    taker_first = await limit(client, trader, market, "BUY", "101.00", "1.000",
                              timeInForce="FOK")
    maker_first = await limit(client, trader, market, "BUY", "101.00", "2.000",
                              timeInForce="FOK", selfTradePrevention="EXPIRE_MAKER")
    # then: neither can fill in full without the own ask, so both expire having done nothing:
    # no fill, and the own ask is not expired either
    for order in (taker_first, maker_first):
        assert (order["status"], order["expiryReason"], order["filledQuantity"]) == (
            "EXPIRED", "FOK_NOT_FILLABLE", "0.000")
    assert (await my_orders(client, trader, market))[own["id"]]["status"] == "NEW"
    assert (await my_orders(client, other, market))[others["id"]]["status"] == "NEW"
    assert await balances(client, trader, market) == {
        market.base: ("99.00000000", "1.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }


async def test_market_order_that_expires_all_own_liquidity(client: GraphQLClient,
                                                           admin_token: str) -> None:
    # given: last price 100; only the trader's own asks
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    trader = await new_trader(client, admin_token, market)
    first = await limit(client, trader, market, "SELL", "100.00", "1.000")
    second = await limit(client, trader, market, "SELL", "101.00", "1.000")
    # when: a market buy of 1 with EXPIRE_MAKER
    taker = await place(client, trader, market, side="BUY", type="MARKET", quantity="1.000",
                        selfTradePrevention="EXPIRE_MAKER")
    # then: both own asks expire; the market order finds no liquidity left
    assert (taker["status"], taker["expiryReason"], taker["filledQuantity"]) == (
        "EXPIRED", "NO_LIQUIDITY", "0.000")
    orders = await my_orders(client, trader, market)
    assert [(orders[o["id"]]["status"], orders[o["id"]]["expiryReason"])
            for o in (first, second)] == [("EXPIRED", "STP")] * 2
    assert await balances(client, trader, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }
