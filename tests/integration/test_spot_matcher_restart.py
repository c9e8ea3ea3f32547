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


def _limit(symbol: str, side: str, price: int, quantity: int) -> OrderRequest:
    return OrderRequest(symbol, side, "LIMIT", price=Decimal(price), quantity=Decimal(quantity))


async def _restart(
    db: AsyncEngine, cfg: Settings, symbol: str, old: InProcessMatcher
) -> InProcessMatcher:
    """Stop `old` and start another matcher, which must rebuild exactly the engine `old` had."""
    assert old.batcher is not None
    live = old.batcher.engine.state_digest()
    await old.stop()
    await db.dispose()  # end the session, so its advisory lock goes
    new = InProcessMatcher(db, cfg, symbol)
    await new.start()
    assert new.batcher is not None
    assert new.batcher.engine.state_digest() == live
    return new


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
        await bus.execute(PlaceOrder(users[0], _limit(symbol, "SELL", 100, 1), None, cfg))
        await bus.execute(PlaceOrder(users[1], _limit(symbol, "BUY", 100, 1), None, cfg))
        limit_id = await bus.execute(
            PlaceOcoOrder(
                users[2], symbol, "SELL", Decimal(4), Decimal(110), Decimal(90), None, None, cfg
            )
        )
        await bus.execute(PlaceOrder(users[3], _limit(symbol, "BUY", 110, 1), None, cfg))
        await matcher.drain()
        assert await _status(db, limit_id) == ("PARTIALLY_FILLED", Decimal(1))
        # when: a new matcher takes over and someone buys the other 3
        matcher = await _restart(db, cfg, symbol, matcher)
        taker_id = await bus.execute(PlaceOrder(users[3], _limit(symbol, "BUY", 110, 3), None, cfg))
        await matcher.drain()
    finally:
        await matcher.stop()
    # then: the limit leg fills like any order
    assert await _status(db, limit_id) == ("FILLED", Decimal(4))
    assert await _status(db, taker_id) == ("FILLED", Decimal(3))


async def test_oco_stop_limit_leg_resting_before_a_restart_fills_after_it(
    isolated_settings: Settings, db: AsyncEngine
) -> None:
    # given: last price 100; a sell OCO of 2 (limit 110, stop-limit 89 from 90) whose stop fired
    # on a trade at 90 and rests as a limit sell at 89, holding the pair's 2 base
    cfg, bus = isolated_settings, CommandBus(db)
    symbol, users, _, _ = await _setup(bus, db)
    matcher = InProcessMatcher(db, cfg, symbol)
    await matcher.start()
    try:
        await bus.execute(PlaceOrder(users[0], _limit(symbol, "SELL", 100, 1), None, cfg))
        await bus.execute(PlaceOrder(users[1], _limit(symbol, "BUY", 100, 1), None, cfg))
        limit_id = await bus.execute(
            PlaceOcoOrder(
                users[2],
                symbol,
                "SELL",
                Decimal(2),
                Decimal(110),
                Decimal(90),
                Decimal(89),
                None,
                cfg,
            )
        )
        await bus.execute(PlaceOrder(users[0], _limit(symbol, "BUY", 90, 1), None, cfg))
        await bus.execute(PlaceOrder(users[1], _limit(symbol, "SELL", 90, 1), None, cfg))
        await matcher.drain()
        async with db.connect() as conn:
            stop_id = (
                await conn.execute(
                    text("SELECT oco_sibling_id FROM orders WHERE id = :i"), {"i": limit_id}
                )
            ).scalar_one()
        assert await _status(db, limit_id) == ("EXPIRED", Decimal(0))
        assert await _status(db, stop_id) == ("NEW", Decimal(0))
        # when: a new matcher takes over and someone buys 2 at 89
        matcher = await _restart(db, cfg, symbol, matcher)
        await bus.execute(PlaceOrder(users[3], _limit(symbol, "BUY", 89, 2), None, cfg))
        await matcher.drain()
    finally:
        await matcher.stop()
    # then: the stop leg fills like any resting order
    assert await _status(db, stop_id) == ("FILLED", Decimal(2))
