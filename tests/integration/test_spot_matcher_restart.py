"""A matcher that restarts rebuilds the engine from the working orders: an OCO leg whose sibling
has already ended must come back unlinked, exactly as the live engine had it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from commands.bus import CommandBus
from commands.spot.order_terms import OrderRequest
from commands.spot.place_oco_order import PlaceOcoOrder
from commands.spot.place_order import PlaceOrder
from tests.integration.spot_harness import InProcessMatcher
from tests.integration.test_spot_properties import _setup


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=3)
    yield engine
    await engine.dispose()


async def _status(db: AsyncEngine, order_id: int) -> tuple[str, Decimal]:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, filled_quantity FROM orders WHERE id = :i"), {"i": order_id}
            )
        ).one()
    return row.status, row.filled_quantity


async def test_oco_limit_leg_partly_filled_before_a_restart_fills_after_it(
    isolated_settings: Settings, db: AsyncEngine
) -> None:
    # given: last price 100; a sell OCO of 4 (limit 110, stop 90) whose limit leg sold 1,
    # which ended the stop leg
    cfg, bus = isolated_settings, CommandBus(db)
    symbol, users, _, _ = await _setup(bus, db)
    matcher = InProcessMatcher(db, cfg, symbol)
    await matcher.start()
    try:
        for user, side in ((users[0], "SELL"), (users[1], "BUY")):
            request = OrderRequest(symbol, side, "LIMIT", price=Decimal(100), quantity=Decimal(1))
            await bus.execute(PlaceOrder(user, request, None, cfg))
        limit_id = await bus.execute(
            PlaceOcoOrder(
                users[2], symbol, "SELL", Decimal(4), Decimal(110), Decimal(90), None, None, cfg
            )
        )
        buy_one = OrderRequest(symbol, "BUY", "LIMIT", price=Decimal(110), quantity=Decimal(1))
        await bus.execute(PlaceOrder(users[3], buy_one, None, cfg))
        await matcher.drain()
        assert await _status(db, limit_id) == ("PARTIALLY_FILLED", Decimal(1))
        assert matcher.batcher is not None
        live = matcher.batcher.engine.state_digest()
    finally:
        await matcher.stop()
        await db.dispose()  # end the session, so its advisory lock goes
    # when: a new matcher takes over and someone buys the other 3
    matcher = InProcessMatcher(db, cfg, symbol)
    await matcher.start()
    try:
        assert matcher.batcher is not None
        assert matcher.batcher.engine.state_digest() == live
        buy_rest = OrderRequest(symbol, "BUY", "LIMIT", price=Decimal(110), quantity=Decimal(3))
        taker_id = await bus.execute(PlaceOrder(users[3], buy_rest, None, cfg))
        await matcher.drain()
    finally:
        await matcher.stop()
    # then: the limit leg fills like any order
    assert await _status(db, limit_id) == ("FILLED", Decimal(4))
    assert await _status(db, taker_id) == ("FILLED", Decimal(3))
