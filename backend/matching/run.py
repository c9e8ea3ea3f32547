"""`exchange matcher`: a matcher for each market (all, or those named), leading or standing by."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from backend.db.engine import make_engine, session_options, sqlalchemy_url
from backend.matching.matcher import MarketMatcher
from backend.settings import Settings
from queries.markets import list_markets

log = logging.getLogger(__name__)

# A frozen matcher's session is ended by the server after this long idle, releasing its lock.
LEADER_IDLE_TIMEOUT_MS = 3_000


async def run_matchers(settings: Settings, markets: list[str] | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    leader_settings = replace(settings, idle_in_transaction_timeout_ms=LEADER_IDLE_TIMEOUT_MS)
    options = (
        session_options(leader_settings) + f" -c idle_session_timeout={LEADER_IDLE_TIMEOUT_MS}"
    )
    db = make_engine(settings, pool_size=2, options=options)
    # A leader keeps its connection for as long as it leads, so leaders cannot share a bounded
    # pool: with one, the market after pool_size + max_overflow would never get a matcher.
    leaders = create_async_engine(
        sqlalchemy_url(settings.database_url),
        poolclass=NullPool,
        connect_args={"options": options},
    )
    redis = aioredis.from_url(settings.redis_url)
    tasks: dict[str, asyncio.Task[None]] = {}
    try:
        while not stop.is_set():
            async with db.connect() as conn:
                symbols = [m.symbol for m in await list_markets(conn)]
            for symbol in symbols:
                if (markets is None or symbol in markets) and symbol not in tasks:
                    matcher = MarketMatcher(settings, leaders, redis, symbol)
                    tasks[symbol] = asyncio.create_task(matcher.run(stop), name=symbol)
            try:  # new markets get a matcher within a second
                await asyncio.wait_for(stop.wait(), 1)
            except TimeoutError:
                pass
    finally:
        stop.set()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await redis.aclose()
        await leaders.dispose()
        await db.dispose()
