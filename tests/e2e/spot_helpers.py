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


async def new_trader(client: GraphQLClient, admin_token: str, market: SpotMarket,
                     base: str = "100", quote: str = "100000") -> Trader:
    user_id, token = await register_and_login(client)
    await fund(client, admin_token, user_id, market.base, base)
    await fund(client, admin_token, user_id, market.quote, quote)
    return Trader(user_id, token)


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


async def balances(client: GraphQLClient, trader: Trader) -> dict[str, tuple[str, str]]:
    data = await client.run("accounts/me", token=trader.token)
    return {b["asset"]: (b["available"], b["locked"]) for b in data["me"]["balances"]}
