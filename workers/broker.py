"""The dramatiq broker, built explicitly from settings (no import-time globals)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

PROJECTIONS_QUEUE = "projections"
CATCH_UP_ACTOR = "catch_up_projections"


def make_broker(redis_url: str, namespace: str) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    broker.declare_queue(PROJECTIONS_QUEUE)
    return broker


def nudge_projections(broker: dramatiq.Broker) -> None:
    """Ask a worker to catch the projections up (sent after every commit; duplicates are cheap)."""
    broker.enqueue(
        dramatiq.Message(
            queue_name=PROJECTIONS_QUEUE,
            actor_name=CATCH_UP_ACTOR,
            args=(),
            kwargs={},
            options={"max_retries": 0},
        )
    )
