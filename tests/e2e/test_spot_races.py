"""Races a real client can cause: cancel against fill, many orders spending one balance."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.e2e.spot_helpers import balances, limit, my_orders, new_market, new_trader, place
from tests.graphql_client import GraphQLClient


async def test_cancel_racing_a_fill_ends_one_way_only(client: GraphQLClient,
                                                      admin_token: str) -> None:
    # given
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    outcomes = set()
    for _ in range(8):
        resting = await limit(client, maker, market, "SELL", "100", "1")
        # when: the taker's buy and the maker's cancel arrive together
        bought, canceled = await asyncio.gather(
            limit(client, taker, market, "BUY", "100", "1"),
            client.run("spot/cancel_order", {"input": {"orderId": resting["id"]}},
                       token=maker.token),
        )
        result = canceled["cancelOrder"]
        # then: either the fill happened (and the cancel found an ended order) or the cancel did
        if bought["status"] == "FILLED":
            assert result["__typename"] in ("OrderNotOpenError", "Order")
            if result["__typename"] == "Order":
                assert result["status"] == "FILLED"
            outcomes.add("filled")
        else:
            assert result["status"] == "CANCELED"
            assert bought["status"] == "NEW"
            await client.run("spot/cancel_order", {"input": {"orderId": bought["id"]}},
                             token=taker.token)
            outcomes.add("canceled")
    maker_base = Decimal((await balances(client, maker))[market.base][0])
    taker_base = Decimal((await balances(client, taker))[market.base][0])
    assert maker_base + taker_base <= Decimal(200)  # never more base than was funded
    assert (await balances(client, maker))[market.base][1] == "0.00000000"


async def test_parallel_orders_cannot_overspend_one_balance(client: GraphQLClient,
                                                            admin_token: str) -> None:
    # given: 1,000 quote, and 20 parallel buys each needing 100
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market, base="0", quote="1000")
    # when
    results = await asyncio.gather(*[
        limit(client, trader, market, "BUY", f"{50 + i}", f"{100 / (50 + i):.3f}")
        for i in range(20)
    ])
    # then: what was accepted fits the balance exactly, and nothing went negative
    accepted = [r for r in results if r["__typename"] == "Order"]
    refused = [r for r in results if r["__typename"] == "InsufficientFundsError"]
    assert len(accepted) + len(refused) == 20
    available, locked = (await balances(client, trader))[market.quote]
    assert Decimal(available) >= 0
    assert Decimal(available) + Decimal(locked) == Decimal(1000)
    assert Decimal(locked) == sum(Decimal(r["price"]) * Decimal(r["quantity"]) for r in accepted)


async def test_parallel_duplicate_client_order_ids_make_one_order(client: GraphQLClient,
                                                                  admin_token: str) -> None:
    # given: one trader, and the same clientOrderId sent 12 times at once: 6 identical retries
    # and 6 with another price
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market)
    same = dict(side="BUY", type="LIMIT", quantity="1.000", clientOrderId="dup-1")
    # when
    results = await asyncio.gather(*[
        place(client, trader, market, price="90.00" if i % 2 else "91.00", **same)
        for i in range(12)
    ])
    # then: one order; its retries answer it, the conflicting ones are typed errors
    orders = [r for r in results if r["__typename"] == "Order"]
    duplicates = [r for r in results if r["__typename"] == "DuplicateClientOrderIdError"]
    assert len(orders) + len(duplicates) == 12, results
    assert len({o["id"] for o in orders}) == 1
    assert len({o["price"] for o in orders}) == 1
    assert len(orders) == 6  # the identical six, whichever price won
    mine = [o for o in (await my_orders(client, trader, market)).values()
            if o["clientOrderId"] == "dup-1"]
    assert len(mine) == 1
    assert (await balances(client, trader))[market.quote][1] == f"{Decimal(mine[0]['price']):.6f}"
