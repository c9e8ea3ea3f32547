"""Markets and funded traders for spot tests, made through the real API."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from tests.conftest import create_asset, engine_for_tests, fund, register_and_login
from tests.graphql_client import GraphQLClient


@dataclass(frozen=True)
class SpotMarket:
    symbol: str
    base: str
    quote: str


@dataclass(frozen=True)
class Trader:
    user_id: str
    token: str


async def new_market(client: GraphQLClient, admin_token: str, **overrides: Any) -> SpotMarket:
    """A fresh market: base 8 decimals, quote 6; tick 0.01, step 0.001, fees 0.1% / 0.2%."""
    base = await create_asset(client, admin_token, 8)
    quote = await create_asset(client, admin_token, 6)
    values = {
        "symbol": f"{base}-{quote}", "base": base, "quote": quote, "tickSize": "0.01",
        "stepSize": "0.001", "minQuantity": "0.001", "maxQuantity": "1000", "minNotional": "1",
        "makerFee": "0.001", "takerFee": "0.002", "priceBand": "0.5", "marketProtection": "0.1",
        **overrides,
    }
    data = await client.run("admin/create_market", {"input": values}, token=admin_token)
    assert data["adminCreateMarket"]["__typename"] == "Market", data
    await wait_for_matcher(values["symbol"])
    return SpotMarket(values["symbol"], base, quote)


async def wait_for_matcher(symbol: str, timeout: float = 10) -> None:
    """Until a matcher leads the new market (it discovers markets every second)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with engine_for_tests().connect() as conn:
        while True:
            epoch = (await conn.execute(text("SELECT epoch FROM market_state WHERE market = :m"),
                                        {"m": symbol})).scalar()
            await conn.rollback()
            if epoch:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no matcher picked up {symbol}")
            await asyncio.sleep(0.05)


_ACCOUNTS: list[tuple[str, str]] = []
"""Registered (user id, token) pairs, handed out again on other markets."""
_HANDED_OUT: dict[str, int] = {}
"""Market symbol -> how many accounts trade on it so far."""


async def new_trader(client: GraphQLClient, admin_token: str, market: SpotMarket,
                     base: str = "100", quote: str = "100000", fresh: bool = False) -> Trader:
    """A trader funded with `base` and `quote` of the market's assets ("0": not funded), and
    no other trader of this market. Accounts are reused across markets (registering and logging
    in hash a password twice, about a second); a fresh market's assets are new, so its balances
    start from the funding. `fresh=True` registers a new account (with no orders elsewhere)."""
    used = _HANDED_OUT.get(market.symbol, 0)
    if fresh or used >= len(_ACCOUNTS):
        user_id, token = await register_and_login(client)
        if not fresh:
            _ACCOUNTS.append((user_id, token))
    else:
        user_id, token = _ACCOUNTS[used]
    if not fresh:
        _HANDED_OUT[market.symbol] = used + 1
    trader = Trader(user_id, token)
    await fund_trader(client, admin_token, trader, market, base, quote)
    return trader


async def fund_trader(client: GraphQLClient, admin_token: str, trader: Trader,
                      market: SpotMarket, base: str = "100", quote: str = "100000") -> None:
    """Credit the trader with the market's assets ("0": that asset not at all)."""
    for asset, amount in ((market.base, base), (market.quote, quote)):
        if amount != "0":
            result = await fund(client, admin_token, trader.user_id, asset, amount)
            assert result["__typename"] == "BalanceAdjustment", result


async def place(client: GraphQLClient, trader: Trader, market: SpotMarket,
                **fields: Any) -> dict[str, Any]:
    order = {"market": market.symbol, **fields}
    data = await client.run("spot/place_order", {"input": order}, token=trader.token)
    result: dict[str, Any] = data["placeOrder"]
    return result


async def limit(client: GraphQLClient, trader: Trader, market: SpotMarket, side: str, price: str,
                quantity: str, **fields: Any) -> dict[str, Any]:
    return await place(client, trader, market, side=side, type="LIMIT", price=price,
                       quantity=quantity, clientOrderId=uuid.uuid4().hex[:20], **fields)


async def balances(client: GraphQLClient, trader: Trader,
                   market: SpotMarket | None = None) -> dict[str, tuple[str, str]]:
    """Asset -> (available, locked); only the market's two assets when `market` is given."""
    data = await client.run("accounts/me", token=trader.token)
    return {b["asset"]: (b["available"], b["locked"]) for b in data["me"]["balances"]
            if market is None or b["asset"] in (market.base, market.quote)}


async def set_last_price(client: GraphQLClient, admin_token: str, market: SpotMarket,
                         price: str, quantity: str = "0.100") -> None:
    """One trade at `price` between two fresh traders, so the market has that last price
    (and the book is as it was before)."""
    seller = await new_trader(client, admin_token, market, quote="0")
    buyer = await new_trader(client, admin_token, market, base="0")
    await limit(client, seller, market, "SELL", price, quantity)
    bought = await limit(client, buyer, market, "BUY", price, quantity)
    assert bought["status"] == "FILLED", bought


async def my_orders(client: GraphQLClient, trader: Trader,
                    market: SpotMarket | None = None) -> dict[str, dict[str, Any]]:
    """The trader's orders by id (id, clientOrderId, status, side, price, quantity,
    filledQuantity, expiryReason)."""
    variables = {"market": market.symbol if market else None, "first": 100}
    data = await client.run("spot/my_orders", variables, token=trader.token)
    return {e["node"]["id"]: e["node"] for e in data["myOrders"]["edges"]}


async def wait_until_ended(client: GraphQLClient, trader: Trader, order_ids: list[str],
                           timeout: float = 5) -> dict[str, dict[str, Any]]:
    """The trader's orders once none of `order_ids` is open any more (for requests that answer
    before the matcher acts, such as cancelAllOrders)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        orders = await my_orders(client, trader)
        if all(orders[i]["status"] not in ("PENDING_NEW", "NEW", "PARTIALLY_FILLED")
               for i in order_ids):
            return orders
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"orders still open: {[orders[i] for i in order_ids]}")
        await asyncio.sleep(0.05)


async def cancel(client: GraphQLClient, trader: Trader, **which: Any) -> dict[str, Any]:
    """cancelOrder by orderId=... or clientOrderId=..."""
    data = await client.run("spot/cancel_order", {"input": which}, token=trader.token)
    result: dict[str, Any] = data["cancelOrder"]
    return result


async def amend(client: GraphQLClient, trader: Trader, order_id: str,
                quantity: str) -> dict[str, Any]:
    data = await client.run("spot/amend_order",
                            {"input": {"orderId": order_id, "quantity": quantity}},
                            token=trader.token)
    result: dict[str, Any] = data["amendOrder"]
    return result


async def oco(client: GraphQLClient, trader: Trader, market: SpotMarket, side: str,
              quantity: str, price: str, stop_price: str, **fields: Any) -> dict[str, Any]:
    order = {"market": market.symbol, "side": side, "quantity": quantity, "price": price,
             "stopPrice": stop_price, **fields}
    data = await client.run("spot/place_oco_order", {"input": order}, token=trader.token)
    result: dict[str, Any] = data["placeOcoOrder"]
    return result
