"""MARKET orders through the real server and matcher: by quantity and by quote quantity, walking
the book, the unfilled rest expiring, market protection, and the hold given back.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %, market protection 10 % around the last price. Traders start with 100 base, 100000 quote.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.spot_helpers import balances, limit, new_market, new_trader, place, set_last_price
from tests.graphql_client import GraphQLClient


def fills_of(order: dict[str, Any]) -> list[tuple[str, str, str, str, bool]]:
    return [(f["price"], f["quantity"], f["fee"], f["feeAsset"], f["isMaker"])
            for f in order["fills"]]


async def test_market_buy_by_quantity_walks_levels_at_maker_prices(client: GraphQLClient,
                                                                   admin_token: str) -> None:
    # given: last price 100, asks of 1 at 100, 101 and 102
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    for price in ("100.00", "101.00", "102.00"):
        await limit(client, maker, market, "SELL", price, "1.000")
    # when: a market buy of 2.5
    order = await place(client, taker, market, side="BUY", type="MARKET", quantity="2.500")
    # then: it fills level by level at each maker's price
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("FILLED", None)
    assert (order["type"], order["timeInForce"], order["price"]) == ("MARKET", "IOC", None)
    assert order["filledQuantity"] == "2.500"
    assert order["filledQuoteQuantity"] == "252.000000"
    assert order["averagePrice"] == "100.800000"
    assert fills_of(order) == [
        ("100.00", "1.000", "0.00200000", market.base, False),
        ("101.00", "1.000", "0.00200000", market.base, False),
        ("102.00", "0.500", "0.00100000", market.base, False),
    ]
    # and: the hold (2.5 at the protection cap of 110 = 275) went back except the 252 spent
    assert await balances(client, taker, market) == {
        market.base: ("102.49500000", "0.00000000"),
        market.quote: ("99748.000000", "0.000000"),
    }
    # and: the maker got 252 less 0.1 % (0.100 + 0.101 + 0.051) and still offers 0.5 at 102
    assert await balances(client, maker, market) == {
        market.base: ("97.00000000", "0.50000000"),
        market.quote: ("100251.748000", "0.000000"),
    }


async def test_market_sell_by_quantity_expires_the_rest_when_the_book_runs_out(
        client: GraphQLClient, admin_token: str) -> None:
    # given: last price 100, bids of 1 at 100 and 0.5 at 99, nothing else
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "BUY", "100.00", "1.000")
    await limit(client, maker, market, "BUY", "99.00", "0.500")
    # when: a market sell of 2
    order = await place(client, taker, market, side="SELL", type="MARKET", quantity="2.000")
    # then: 1.5 fills, the other 0.5 expires for lack of liquidity
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("EXPIRED", "NO_LIQUIDITY")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("1.500", "149.500000")
    assert fills_of(order) == [
        ("100.00", "1.000", "0.200000", market.quote, False),
        ("99.00", "0.500", "0.099000", market.quote, False),
    ]
    # and: the unsold 0.5 base is no longer held; the taker received 149.5 less 0.299 fees
    assert await balances(client, taker, market) == {
        market.base: ("98.50000000", "0.00000000"),
        market.quote: ("100149.201000", "0.000000"),
    }


async def test_market_buy_protection_stops_the_walk_ten_percent_above_last(
        client: GraphQLClient, admin_token: str) -> None:
    # given: last price 100; asks at 100, at 110 (the band's edge) and at 110.01 (beyond it)
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    for price in ("100.00", "110.00", "110.01"):
        await limit(client, maker, market, "SELL", price, "1.000")
    # when: a market buy of 3
    order = await place(client, taker, market, side="BUY", type="MARKET", quantity="3.000")
    # then: it fills up to 110 and expires with the book still offering 110.01
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("EXPIRED", "MARKET_PROTECTION")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("2.000", "210.000000")
    assert [f["price"] for f in order["fills"]] == ["100.00", "110.00"]
    assert await balances(client, taker, market) == {
        market.base: ("101.99600000", "0.00000000"),
        market.quote: ("99790.000000", "0.000000"),
    }
    # when: a market sell of 1 with no bids at all
    sell = await place(client, taker, market, side="SELL", type="MARKET", quantity="1.000")
    # then: nothing fills, and the base it held is available again
    assert (sell["status"], sell["expiryReason"]) == ("EXPIRED", "NO_LIQUIDITY")
    assert (sell["filledQuantity"], sell["fills"]) == ("0.000", [])
    assert await balances(client, taker, market) == {
        market.base: ("101.99600000", "0.00000000"),
        market.quote: ("99790.000000", "0.000000"),
    }


async def test_market_sell_protection_bounds_the_walk_downwards(client: GraphQLClient,
                                                                admin_token: str) -> None:
    # given: last price 100; bids at 90 (the band's edge) and 89.99 (beyond it)
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "BUY", "90.00", "1.000")
    await limit(client, maker, market, "BUY", "89.99", "1.000")
    # when: a market sell of 2
    order = await place(client, taker, market, side="SELL", type="MARKET", quantity="2.000")
    # then: only the bid at 90 is taken
    assert (order["status"], order["expiryReason"]) == ("EXPIRED", "MARKET_PROTECTION")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("1.000", "90.000000")
    assert await balances(client, taker, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("100089.820000", "0.000000"),
    }


async def test_market_buy_by_quote_quantity_spends_at_most_the_amount(client: GraphQLClient,
                                                                      admin_token: str) -> None:
    # given: last price 100, asks of 1 at 100, 101 and 102
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    for price in ("100.00", "101.00", "102.00"):
        await limit(client, maker, market, "SELL", price, "1.000")
    # when: a market buy spending 250
    order = await place(client, taker, market, side="BUY", type="MARKET",
                        quoteQuantity="250.000000")
    # then: 100 + 101, then 48.96 buys 0.480 at 102 (0.481 would cost 49.062 > 49)
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("FILLED", None)
    assert order["quoteQuantity"] == "250.000000"
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("2.480", "249.960000")
    assert [(f["price"], f["quantity"], f["fee"]) for f in order["fills"]] == [
        ("100.00", "1.000", "0.00200000"),
        ("101.00", "1.000", "0.00200000"),
        ("102.00", "0.480", "0.00096000"),
    ]
    # and: the 0.04 not spent is available again
    assert await balances(client, taker, market) == {
        market.base: ("102.47504000", "0.00000000"),
        market.quote: ("99750.040000", "0.000000"),
    }


async def test_market_sell_by_quote_quantity_receives_at_most_the_amount(
        client: GraphQLClient, admin_token: str) -> None:
    # given: last price 100, bids of 1 at 100, 99 and 98
    market = await new_market(client, admin_token)
    await set_last_price(client, admin_token, market, "100.00")
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    for price in ("100.00", "99.00", "98.00"):
        await limit(client, maker, market, "BUY", price, "1.000")
    # when: a market sell to receive 250
    order = await place(client, taker, market, side="SELL", type="MARKET",
                        quoteQuantity="250.000000")
    # then: 100 + 99, then 0.520 at 98 = 50.96 (0.521 would bring 51.058 > 51)
    assert order["__typename"] == "Order", order
    assert (order["status"], order["expiryReason"]) == ("FILLED", None)
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("2.520", "249.960000")
    assert [(f["price"], f["quantity"], f["fee"]) for f in order["fills"]] == [
        ("100.00", "1.000", "0.200000"),
        ("99.00", "1.000", "0.198000"),
        ("98.00", "0.520", "0.101920"),
    ]
    # and: the base held for the worst case (2.778 at 90) is back except the 2.52 sold
    assert await balances(client, taker, market) == {
        market.base: ("97.48000000", "0.00000000"),
        market.quote: ("100249.460080", "0.000000"),
    }


async def test_market_orders_without_a_last_price(client: GraphQLClient,
                                                  admin_token: str) -> None:
    # given: a new market (no trade yet) with asks of 1 at 100 and 1 at 105
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    await limit(client, maker, market, "SELL", "100.00", "1.000")
    await limit(client, maker, market, "SELL", "105.00", "1.000")
    # when: a market buy by quantity, a market sell by quote quantity
    by_quantity = await place(client, taker, market, side="BUY", type="MARKET", quantity="1.000")
    by_quote = await place(client, taker, market, side="SELL", type="MARKET",
                           quoteQuantity="50.000000")
    # then: both are refused, naming the field (nothing bounds what they may cost)
    assert by_quantity["__typename"] == "ValidationError", by_quantity
    assert (by_quantity["code"], by_quantity["field"]) == ("VALIDATION_ERROR", "quantity")
    assert by_quote["__typename"] == "ValidationError", by_quote
    assert by_quote["field"] == "quoteQuantity"
    assert await balances(client, taker, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("100000.000000", "0.000000"),
    }
    # when: a market buy by quote quantity (its amount is its bound)
    order = await place(client, taker, market, side="BUY", type="MARKET",
                        quoteQuantity="300.000000")
    # then: the protection band is measured from the best ask, 100: 105 is within 110
    assert (order["status"], order["expiryReason"]) == ("EXPIRED", "NO_LIQUIDITY")
    assert (order["filledQuantity"], order["filledQuoteQuantity"]) == ("2.000", "205.000000")
    assert await balances(client, taker, market) == {
        market.base: ("101.99600000", "0.00000000"),
        market.quote: ("99795.000000", "0.000000"),
    }
