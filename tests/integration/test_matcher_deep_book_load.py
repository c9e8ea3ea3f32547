"""A leader whose book takes longer to build than its idle timeouts must not be cut off mid-load
(found by bench.recovery: at 200,000 orders the matcher reloaded forever). The short timeouts
that free a frozen matcher's locks are lifted while a market loads and restored after."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine, session_options
from backend.matching import matcher
from backend.matching.matcher import load_batcher, take_market
from backend.settings import Settings
from commands.bus import CommandBus
from tests.integration.test_spot_properties import _setup

IDLE_MS = 300


@pytest.fixture
async def leader_db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    options = session_options(isolated_settings) + (
        f" -c idle_session_timeout={IDLE_MS} -c idle_in_transaction_session_timeout={IDLE_MS}"
        f" -c statement_timeout={IDLE_MS}"
    )
    engine = make_engine(isolated_settings, pool_size=1, options=options)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=2)
    yield engine
    await engine.dispose()


async def test_a_slow_book_build_keeps_the_session_and_restores_its_timeouts(
    leader_db: AsyncEngine, db: AsyncEngine, isolated_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a market, and a book build that takes longer than the session's idle timeouts
    symbol, *_ = await _setup(CommandBus(db), db)
    real_build = matcher.build_engine

    def slow_build(*args: Any) -> Any:
        time.sleep(IDLE_MS * 3 / 1000)  # the session sits idle meanwhile
        return real_build(*args)

    monkeypatch.setattr(matcher, "build_engine", slow_build)
    async with leader_db.connect() as conn:
        epoch = await take_market(conn, symbol)
        assert epoch is not None
        # when
        batcher = await load_batcher(conn, isolated_settings, symbol, epoch)
        # then: the session survived, and its short timeouts are back
        timeouts = [
            (await conn.execute(text(f"SHOW {name}"))).scalar()
            for name in (
                "idle_session_timeout", "idle_in_transaction_session_timeout", "statement_timeout"
            )
        ]
        await conn.commit()
    assert batcher.epoch == epoch
    assert timeouts == [f"{IDLE_MS}ms"] * 3
