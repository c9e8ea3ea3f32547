"""Backpressure: a full backlog refuses new orders with a typed error; taker orders that reach the
matcher too late expire; the funds of each come back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.domain.errors import LimitExceeded
from backend.settings import Settings
from commands.bus import CommandBus
from commands.spot.order_terms import OrderRequest
from commands.spot.place_order import PlaceOrder
from tests.integration.spot_harness import InProcessMatcher
from tests.integration.test_spot_properties import _setup


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=3)
    yield engine
    await engine.dispose()


def _buy(symbol: str, kind: str = "LIMIT", tif: str = "GTC") -> OrderRequest:
    if kind == "MARKET":
        return OrderRequest(symbol, "BUY", "MARKET", quote_quantity=Decimal(50))
    return OrderRequest(symbol, "BUY", "LIMIT", tif, price=Decimal(90), quantity=Decimal(1))


async def _status(db: AsyncEngine, order_id: int) -> tuple[str, str | None]:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, expiry_reason FROM orders WHERE id = :i"), {"i": order_id}
            )
        ).one()
    return row.status, row.expiry_reason


async def test_full_backlog_refuses_new_orders(
    isolated_settings: Settings, db: AsyncEngine
) -> None:
    # given: a market whose matcher is not running, with a backlog bound of 3
    cfg = replace(isolated_settings, max_pending_orders_per_market=3)
    bus = CommandBus(db)
    symbol, users, _, _ = await _setup(bus, db)
    for _ in range(3):
        await bus.execute(PlaceOrder(users[0], _buy(symbol), None, cfg))
    # when / then
    with pytest.raises(LimitExceeded):
        await bus.execute(PlaceOrder(users[1], _buy(symbol), None, cfg))


async def test_stale_taker_orders_expire_and_release_funds(
    isolated_settings: Settings, db: AsyncEngine
) -> None:
    # given: a market order and an IOC accepted now, a GTC too
    bus = CommandBus(db)
    symbol, users, _, quote = await _setup(bus, db)
    market_id = await bus.execute(
        PlaceOrder(users[0], _buy(symbol, "MARKET"), None, isolated_settings)
    )
    ioc_id = await bus.execute(
        PlaceOrder(users[0], _buy(symbol, tif="IOC"), None, isolated_settings)
    )
    gtc_id = await bus.execute(PlaceOrder(users[0], _buy(symbol), None, isolated_settings))
    matcher = InProcessMatcher(db, isolated_settings, symbol)
    await matcher.start()
    # when: the matcher reaches them 11 s later (the bound is 10 s)
    matcher.clock = datetime.now(UTC) + timedelta(seconds=11)
    try:
        await matcher.drain()
    finally:
        await matcher.stop()
    # then
    assert await _status(db, market_id) == ("EXPIRED", "TOO_OLD")
    assert await _status(db, ioc_id) == ("EXPIRED", "TOO_OLD")
    assert await _status(db, gtc_id) == ("NEW", None)
    async with db.connect() as conn:
        locked = (
            await conn.execute(
                text(
                    "SELECT balance FROM ledger_accounts WHERE user_id = :u AND asset = :a"
                    " AND kind = 'locked'"
                ),
                {"u": users[0], "a": quote},
            )
        ).scalar_one()
    assert locked == Decimal(90)  # only the resting GTC's hold remains
