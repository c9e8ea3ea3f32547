"""Single live writer per market: freeze the leading matcher (SIGSTOP), watch a standby take over,
then thaw the old one; every input is processed exactly once and the ledger still reconciles."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from commands.bus import CommandBus
from commands.spot.order_terms import OrderRequest
from commands.spot.place_order import PlaceOrder
from queries.ledger import reconcile
from tests.integration.test_spot_properties import _setup

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=3)
    yield engine
    await engine.dispose()


def _matcher(cfg: Settings, symbol: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": cfg.database_url,
        "REDIS_URL": cfg.redis_url,
        "EXCHANGE_LOG_LEVEL": "INFO",
    }
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "matcher", "--markets", symbol],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _epoch(db: AsyncEngine, symbol: str) -> int:
    async with db.connect() as conn:
        value = (
            await conn.execute(
                text("SELECT epoch FROM market_state WHERE market = :m"), {"m": symbol}
            )
        ).scalar()
    return int(value or 0)


async def _until(predicate: object, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def _pending(db: AsyncEngine, symbol: str) -> int:
    async with db.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM orders WHERE market = :m AND status = 'PENDING_NEW'"
                    ),
                    {"m": symbol},
                )
            ).scalar_one()
        )


async def _place_crossing(
    bus: CommandBus, cfg: Settings, symbol: str, users: list[uuid.UUID], n: int
) -> None:
    for i in range(n):
        side = "BUY" if i % 2 else "SELL"
        await bus.execute(
            PlaceOrder(
                users[i % len(users)],
                OrderRequest(symbol, side, "LIMIT", "GTC", price=Decimal(100), quantity=Decimal(1)),
                None,
                cfg,
            )
        )


async def test_frozen_leader_is_replaced_and_can_never_commit(
    isolated_settings: Settings, db: AsyncEngine, tmp_path: Path
) -> None:
    # given: a leader A and a standby B
    bus = CommandBus(db)
    symbol, users, base, quote = await _setup(bus, db)
    a = _matcher(isolated_settings, symbol, tmp_path / "a.log")
    b: subprocess.Popen[bytes] | None = None
    try:
        await _until(lambda: _epoch_is(db, symbol, 1), 20)
        b = _matcher(isolated_settings, symbol, tmp_path / "b.log")
        await _place_crossing(bus, isolated_settings, symbol, users, 6)
        await _until(lambda: _none_pending(db, symbol), 10)
        # when: A freezes, orders keep coming, B takes over; then A thaws
        a.send_signal(signal.SIGSTOP)
        await _place_crossing(bus, isolated_settings, symbol, users, 6)
        await _until(lambda: _epoch_is(db, symbol, 2), 20)
        await _until(lambda: _none_pending(db, symbol), 10)
        a.send_signal(signal.SIGCONT)
        await asyncio.sleep(1.0)
        await _place_crossing(bus, isolated_settings, symbol, users, 6)
        await _until(lambda: _none_pending(db, symbol), 10)
        # then: every input in exactly one batch, B still leads, the ledger reconciles
        async with db.connect() as conn:
            inputs = (
                (
                    await conn.execute(
                        text(
                            "SELECT jsonb_array_elements(data->'inputs')::bigint FROM events"
                            " WHERE stream = :s AND event_type = 'spot.batch_matched'"
                        ),
                        {"s": f"market:{symbol}"},
                    )
                )
                .scalars()
                .all()
            )
            accepted = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM events WHERE stream = :s AND event_type LIKE 'spot.%'"
                        " AND event_type <> 'spot.batch_matched'"
                    ),
                    {"s": f"market:{symbol}"},
                )
            ).scalar_one()
            rows = {r.asset: r for r in await reconcile(conn)}
        assert len(inputs) == len(set(inputs)) == accepted == 18
        assert await _epoch(db, symbol) == 2
        assert rows[base].balanced and rows[quote].balanced
        assert a.poll() is None, "the thawed matcher stands by instead of crashing"
    finally:
        for proc in (a, b):
            if proc is not None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
                proc.wait(10)


async def _epoch_is(db: AsyncEngine, symbol: str, epoch: int) -> bool:
    return await _epoch(db, symbol) == epoch


async def _none_pending(db: AsyncEngine, symbol: str) -> bool:
    return await _pending(db, symbol) == 0
