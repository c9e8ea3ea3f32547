"""LIMIT orders through the real server and matcher: resting, crossing, fees, price improvement."""

from __future__ import annotations

from tests.e2e.spot_helpers import balances, limit, new_market, new_trader
from tests.graphql_client import GraphQLClient


async def test_resting_then_crossing_settles_with_exact_fees(client: GraphQLClient,
                                                             admin_token: str) -> None:
    # given: a maker selling 2 at 100 and 1 at 101
    market = await new_market(client, admin_token)
    maker = await new_trader(client, admin_token, market)
    taker = await new_trader(client, admin_token, market)
    first = await limit(client, maker, market, "SELL", "100.00", "2.000")
    await limit(client, maker, market, "SELL", "101.00", "1.000")
    # when: a taker buys 2.5 up to 102
    bought = await limit(client, taker, market, "BUY", "102.00", "2.500")
    # then: fills at the makers' prices; fees from what each receives
    assert first["status"] == "NEW"
    assert bought["status"] == "FILLED", bought
    assert [(f["price"], f["quantity"], f["fee"], f["feeAsset"], f["isMaker"])
            for f in bought["fills"]] == [
        ("100.00", "2.000", "0.00400000", market.base, False),
        ("101.00", "0.500", "0.00100000", market.base, False),
    ]
    assert bought["filledQuoteQuantity"] == "250.500000"
    taker_balances = await balances(client, taker)
    # 100000 - 250.5 spent (the hold at 102 released the 4.5 improvement); 100 + 2.5 - 0.005 fee
    assert taker_balances[market.quote] == ("99749.500000", "0.000000")
    assert taker_balances[market.base] == ("102.49500000", "0.00000000")
    maker_balances = await balances(client, maker)
    # maker sold 2 @100 and 0.5 @101 = 250.5 quote, minus 0.1% = 0.2505 -> 0.250500
    assert maker_balances[market.quote] == ("100250.249500", "0.000000")
    assert maker_balances[market.base] == ("97.00000000", "0.50000000")
