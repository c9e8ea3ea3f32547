"""Cancel, cancel-all, amend (keep priority) and cancel-replace through the real server and
matcher.

Markets from new_market: tick 0.01, step 0.001, quote 6 decimals, base 8, maker 0.1 %, taker
0.2 %. Traders start with 100 base and 100000 quote.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.spot_helpers import (
    SpotMarket,
    Trader,
    amend,
    balances,
    cancel,
    fund_trader,
    limit,
    my_orders,
    new_market,
    new_trader,
    wait_until_ended,
)
from tests.graphql_client import GraphQLClient


def funded(market: SpotMarket) -> dict[str, tuple[str, str]]:
    return {market.base: ("100.00000000", "0.00000000"),
            market.quote: ("100000.000000", "0.000000")}


async def cancel_all(client: GraphQLClient, trader: Trader,
                     market: SpotMarket | None = None) -> dict[str, Any]:
    variables = {"market": market.symbol} if market else {}
    data = await client.run("spot/cancel_all_orders", variables, token=trader.token)
    result: dict[str, Any] = data["cancelAllOrders"]
    return result


async def cancel_replace(client: GraphQLClient, trader: Trader, which: dict[str, Any],
                         order: dict[str, Any]) -> dict[str, Any]:
    data = await client.run("spot/cancel_replace_order",
                            {"input": {"cancel": which, "order": order}}, token=trader.token)
    result: dict[str, Any] = data["cancelReplaceOrder"]
    return result


async def test_cancel_by_id_and_by_client_order_id(client: GraphQLClient,
                                                   admin_token: str) -> None:
    # given: a bid and an ask of one trader
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    stranger = await new_trader(client, admin_token, market)
    bid = await limit(client, trader, market, "BUY", "99.00", "1.000")
    ask = await limit(client, trader, market, "SELL", "101.00", "2.000")
    # when: another user tries to cancel them, by id and by client id
    by_stranger = [await cancel(client, stranger, orderId=bid["id"]),
                   await cancel(client, stranger, clientOrderId=ask["clientOrderId"])]
    # then: for that user they do not exist
    assert [(r["__typename"], r["code"]) for r in by_stranger] == [
        ("NotFoundError", "NOT_FOUND")] * 2
    # when: the owner cancels the bid by id and the ask by client id
    canceled_bid = await cancel(client, trader, orderId=bid["id"])
    canceled_ask = await cancel(client, trader, clientOrderId=ask["clientOrderId"])
    # then: both are canceled, and the funds they held are available again
    assert canceled_bid == {"__typename": "Order", "id": bid["id"], "status": "CANCELED",
                            "expiryReason": "USER_CANCELED", "filledQuantity": "0.000"}
    assert canceled_ask == {"__typename": "Order", "id": ask["id"], "status": "CANCELED",
                            "expiryReason": "USER_CANCELED", "filledQuantity": "0.000"}
    assert await balances(client, trader, market) == funded(market)
    # when: neither or both ways of naming the order are given
    neither = await cancel(client, trader)
    both = await cancel(client, trader, orderId=bid["id"], clientOrderId=bid["clientOrderId"])
    # then: a validation error
    assert [r["__typename"] for r in (neither, both)] == ["ValidationError"] * 2


async def test_cancel_of_a_filled_order_and_a_retried_cancel(client: GraphQLClient,
                                                             admin_token: str) -> None:
    # given: a maker's ask of 1 at 100 that a taker filled, and another ask of 1 at 101
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    filled = await limit(client, maker, market, "SELL", "100.00", "1.000")
    await limit(client, taker, market, "BUY", "100.00", "1.000")
    working = await limit(client, maker, market, "SELL", "101.00", "1.000")
    # when: the maker cancels the filled one
    result = await cancel(client, maker, orderId=filled["id"])
    # then: it is not open
    assert (result["__typename"], result["code"]) == ("OrderNotOpenError", "ORDER_NOT_OPEN")
    assert (await my_orders(client, maker, market))[filled["id"]]["status"] == "FILLED"
    # when: the maker cancels the working one twice
    first = await cancel(client, maker, orderId=working["id"])
    again = await cancel(client, maker, clientOrderId=working["clientOrderId"])
    # then: the retry answers with the canceled order, as the first did
    assert first == again == {"__typename": "Order", "id": working["id"], "status": "CANCELED",
                              "expiryReason": "USER_CANCELED", "filledQuantity": "0.000"}
    assert await balances(client, maker, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("100099.900000", "0.000000"),
    }


async def test_cancel_all_orders_in_one_market_then_everywhere(client: GraphQLClient,
                                                               admin_token: str) -> None:
    # given: a trader (with no orders anywhere else) with two orders in one market and one in
    # another; and another user's order in the first market
    first = await new_market(client, admin_token)
    second = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, first, fresh=True)
    await fund_trader(client, admin_token, trader, second)
    other = await new_trader(client, admin_token, first)
    in_first = [await limit(client, trader, first, "BUY", "99.00", "1.000"),
                await limit(client, trader, first, "SELL", "101.00", "1.000")]
    in_second = await limit(client, trader, second, "BUY", "50.00", "1.000")
    others = await limit(client, other, first, "BUY", "98.00", "1.000")
    # when: the trader cancels all orders in the first market
    result = await cancel_all(client, trader, first)
    # then: that market's orders end, the other market's and the other user's work on
    assert result == {"__typename": "CancelAllResult", "markets": [first.symbol]}
    orders = await wait_until_ended(client, trader, [o["id"] for o in in_first])
    assert [(orders[o["id"]]["status"], orders[o["id"]]["expiryReason"]) for o in in_first] \
        == [("CANCELED", "USER_CANCELED")] * 2
    assert orders[in_second["id"]]["status"] == "NEW"
    assert (await my_orders(client, other, first))[others["id"]]["status"] == "NEW"
    assert await balances(client, trader, first) == funded(first)
    # when: the trader cancels all orders everywhere
    result = await cancel_all(client, trader)
    # then: only the second market had any left
    assert result == {"__typename": "CancelAllResult", "markets": [second.symbol]}
    orders = await wait_until_ended(client, trader, [in_second["id"]])
    assert orders[in_second["id"]]["status"] == "CANCELED"
    assert await balances(client, trader, second) == funded(second)
    # when: again, with nothing open, and for a market that does not exist
    nothing = await cancel_all(client, trader)
    unknown = await cancel_all(client, trader, SpotMarket("NO-SUCH", "NO", "SUCH"))
    # then
    assert nothing == {"__typename": "CancelAllResult", "markets": []}
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "NOT_FOUND")


async def test_amend_down_keeps_time_priority_and_releases_the_excess(client: GraphQLClient,
                                                                      admin_token: str) -> None:
    # given: two asks at 100: 2 from the first maker, then 1 from the second
    market = await new_market(client, admin_token)
    first_maker = await new_trader(client, admin_token, market)
    second_maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    first = await limit(client, first_maker, market, "SELL", "100.00", "2.000")
    second = await limit(client, second_maker, market, "SELL", "100.00", "1.000")
    # when: the first maker lowers its ask to 1
    amended = await amend(client, first_maker, first["id"], "1.000")
    # then: same order, new quantity; the base it no longer needs is available again
    assert amended == {"__typename": "Order", "id": first["id"], "status": "NEW",
                       "quantity": "1.000", "filledQuantity": "0.000"}
    assert (await balances(client, first_maker, market))[market.base] == (
        "99.00000000", "1.00000000")
    # when: a taker buys 1 at 100
    bought = await limit(client, taker, market, "BUY", "100.00", "1.000")
    # then: the amended ask was still first in the queue
    assert bought["status"] == "FILLED", bought
    assert (await my_orders(client, first_maker, market))[first["id"]]["status"] == "FILLED"
    assert (await my_orders(client, second_maker, market))[second["id"]]["status"] == "NEW"
    assert await balances(client, first_maker, market) == {
        market.base: ("99.00000000", "0.00000000"),
        market.quote: ("100099.900000", "0.000000"),
    }


async def test_amend_that_is_not_a_decrease_above_filled_is_refused(
        client: GraphQLClient, admin_token: str) -> None:
    # given: a bid of 2 at 100 of which 0.5 filled
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    bid = await limit(client, maker, market, "BUY", "100.00", "2.000")
    await limit(client, taker, market, "SELL", "100.00", "0.500")
    unchanged = {"__typename": "Order", "id": bid["id"], "status": "PARTIALLY_FILLED",
                 "quantity": "2.000", "filledQuantity": "0.500"}
    # when: amended up, to the same quantity, to the filled quantity and below it
    for quantity in ("3.000", "2.000", "0.500", "0.400"):
        result = await amend(client, maker, bid["id"], quantity)
        # then: refused with the reason, naming the field; the order stays as it was
        assert (result["__typename"], result["field"]) == ("ValidationError", "quantity"), quantity
    assert (await my_orders(client, maker, market))[bid["id"]]["quantity"] == "2.000"
    assert (await balances(client, maker, market))[market.quote] == (
        "99800.000000", "150.000000")
    # when: amended to a quantity off the step grid
    off_grid = await amend(client, maker, bid["id"], "1.0005")
    # then: refused, naming the field
    assert (off_grid["__typename"], off_grid["field"]) == ("ValidationError", "quantity")
    # when: amended to 1, between filled and ordered
    result = await amend(client, maker, bid["id"], "1.000")
    # then: it works for 0.5 more and holds only that
    assert result == {**unchanged, "quantity": "1.000"}
    assert (await balances(client, maker, market))[market.quote] == (
        "99900.000000", "50.000000")
    # when: the rest fills and the order is amended again
    await limit(client, taker, market, "SELL", "100.00", "0.500")
    too_late = await amend(client, maker, bid["id"], "0.800")
    # then: the order is not open any more
    assert (too_late["__typename"], too_late["code"]) == ("OrderNotOpenError", "ORDER_NOT_OPEN")


async def test_cancel_replace_replaces_a_working_order(client: GraphQLClient,
                                                       admin_token: str) -> None:
    # given: a bid of 1 at 99
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    bid = await limit(client, trader, market, "BUY", "99.00", "1.000")
    # when: it is replaced by a bid of 2 at 98
    new_bid = {"market": market.symbol, "side": "BUY", "type": "LIMIT", "price": "98.00",
               "quantity": "2.000"}
    result = await cancel_replace(client, trader, {"orderId": bid["id"]}, new_bid)
    # then: the old bid is canceled, the new one works and holds 196
    assert result["__typename"] == "Order", result
    assert result["id"] != bid["id"]
    assert (result["status"], result["price"], result["quantity"]) == ("NEW", "98.00", "2.000")
    orders = await my_orders(client, trader, market)
    assert orders[bid["id"]]["status"] == "CANCELED"
    assert await balances(client, trader, market) == {
        market.base: ("100.00000000", "0.00000000"),
        market.quote: ("99804.000000", "196.000000"),
    }


async def test_cancel_replace_places_nothing_when_the_cancel_fails(client: GraphQLClient,
                                                                   admin_token: str) -> None:
    # given: a maker's ask that was filled
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    filled = await limit(client, maker, market, "SELL", "100.00", "1.000")
    await limit(client, taker, market, "BUY", "100.00", "1.000")
    before = await balances(client, maker, market)
    new_ask = {"market": market.symbol, "side": "SELL", "type": "LIMIT", "price": "101.00",
               "quantity": "1.000"}
    # when: it is to be replaced, and so is an order that does not exist
    not_open = await cancel_replace(client, maker, {"orderId": filled["id"]}, new_ask)
    missing = await cancel_replace(client, maker, {"clientOrderId": "no-such-order"}, new_ask)
    # then: both fail and no order was placed
    assert (not_open["__typename"], not_open["code"]) == ("OrderNotOpenError", "ORDER_NOT_OPEN")
    assert (missing["__typename"], missing["code"]) == ("NotFoundError", "NOT_FOUND")
    assert list(await my_orders(client, maker, market)) == [filled["id"]]
    assert await balances(client, maker, market) == before


async def test_cancel_replace_refuses_a_bad_new_order_before_canceling(
        client: GraphQLClient, admin_token: str) -> None:
    # given: a bid of 1 at 99
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    bid = await limit(client, trader, market, "BUY", "99.00", "1.000")
    before = await balances(client, trader, market)
    # when: the replacement's price is off the tick; or its clientOrderId is not ASCII
    off_tick = {"market": market.symbol, "side": "BUY", "type": "LIMIT", "price": "98.005",
                "quantity": "1.000"}
    bad_id = dict(off_tick, price="98.00", clientOrderId="é")
    refused = [await cancel_replace(client, trader, {"orderId": bid["id"]}, order)
               for order in (off_tick, bad_id)]
    # then: both are ValidationErrors and the bid still works, its hold untouched
    assert [(r["__typename"], r["field"]) for r in refused] == [
        ("ValidationError", "price"), ("ValidationError", "clientOrderId")]
    assert (await my_orders(client, trader, market))[bid["id"]]["status"] == "NEW"
    assert await balances(client, trader, market) == before


async def test_cancel_replace_reports_a_new_order_refused_after_the_cancel(
        client: GraphQLClient, admin_token: str) -> None:
    # given: a bid of 1 at 99 from a trader with 100,000 quote
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    bid = await limit(client, trader, market, "BUY", "99.00", "1.000")
    # when: the replacement needs more than the whole balance
    too_big = {"market": market.symbol, "side": "BUY", "type": "LIMIT", "price": "150.00",
               "quantity": "999.000"}
    result = await cancel_replace(client, trader, {"orderId": bid["id"]}, too_big)
    # then: the answer says the old bid is canceled and why the new one was refused
    assert result["__typename"] == "ReplacementRefusedError", result
    assert (result["code"], result["reason"]) == ("REPLACEMENT_REFUSED", "INSUFFICIENT_FUNDS")
    assert result["canceledOrder"] == {"id": bid["id"], "status": "CANCELED"}
    assert (await my_orders(client, trader, market))[bid["id"]]["status"] == "CANCELED"
    assert await balances(client, trader, market) == funded(market)
