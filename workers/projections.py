"""The projection actor: catches up the projections that have news and publishes their live
updates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

import dramatiq
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from projections.registry import PROJECTIONS
from projections.runner import catch_up
from workers.broker import CATCH_UP_ACTOR, PROJECTIONS_QUEUE, nudge_sequence_key
from workers.news import projections_with_news

log = logging.getLogger(__name__)


@dataclass
class WorkerResources:
    """Created lazily inside the worker's event loop thread, then reused by every message."""

    settings: Settings
    engine: AsyncEngine | None = None
    redis: aioredis.Redis | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # The nudge counter as read at the start of the last finished pass (workers.broker).
    covered_nudge: int = 0

    def ensure(self) -> tuple[AsyncEngine, aioredis.Redis]:
        if self.engine is None:
            self.engine = make_engine(self.settings, pool_size=2, ping_after_idle_seconds=1.0)
        if self.redis is None:
            self.redis = aioredis.from_url(self.settings.redis_url)
        return self.engine, self.redis

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def declare_projection_actor(
    broker: dramatiq.Broker, resources: WorkerResources
) -> dramatiq.Actor[[int], Awaitable[None]]:
    async def catch_up_projections(nudge: int = 0) -> None:
        if nudge and nudge <= resources.covered_nudge:
            return  # a pass that started after this nudge was sent has finished since
        engine, redis = resources.ensure()
        started = int(await redis.get(nudge_sequence_key(resources.settings.queue_namespace)) or 0)

        async def publish(messages: list[tuple[str, bytes]]) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                for channel, payload in messages:
                    pipe.publish(channel, payload)
                await pipe.execute()

        for projection in await projections_with_news(engine, PROJECTIONS.values()):
            await catch_up(engine, projection, resources.settings.projection_batch_size, publish)
        resources.covered_nudge = max(resources.covered_nudge, started)

    declare = dramatiq.actor(
        broker=broker,
        actor_name=CATCH_UP_ACTOR,
        queue_name=PROJECTIONS_QUEUE,
        max_retries=0,
        time_limit=60_000,
    )
    return declare(catch_up_projections)
