"""`exchange matcher`: one shard leading every market it can (all, or those named), on one
database session; start a second process for fail-over (it stands by until the first is gone)."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace

import redis.asyncio as aioredis

from backend.db.engine import make_engine, session_options
from backend.matching.matcher import ShardMatcher
from backend.settings import Settings
from workers.broker import make_broker, nudge_projections
from workers.nudger import CoalescingNudger

log = logging.getLogger(__name__)

# A frozen matcher's session is ended by the server after this long idle, releasing its locks.
LEADER_IDLE_TIMEOUT_MS = 3_000


async def run_matchers(settings: Settings, markets: list[str] | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    leader = replace(settings, idle_in_transaction_timeout_ms=LEADER_IDLE_TIMEOUT_MS)
    options = session_options(leader) + f" -c idle_session_timeout={LEADER_IDLE_TIMEOUT_MS}"
    db = make_engine(settings, pool_size=1, options=options)
    redis = aioredis.from_url(settings.redis_url)
    broker = make_broker(settings.redis_url, settings.queue_namespace)
    nudger = CoalescingNudger(
        lambda: nudge_projections(broker), settings.projection_nudge_interval_seconds
    )
    nudger.start()
    try:
        await ShardMatcher(settings, db, redis, markets, after_batch=nudger.request).run(stop)
    finally:
        await nudger.close()
        broker.close()
        await redis.aclose()
        await db.dispose()
