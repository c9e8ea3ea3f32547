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


def nudge_sequence_key(namespace: str) -> str:
    return f"{namespace}:projections:nudges"


def nudge_projections(broker: RedisBroker) -> None:
    """Ask a worker to catch the projections up (sent after commits). Each nudge carries the
    next number of a Redis counter; a worker pass notes the counter when it starts, so a nudge
    numbered at or below that of a finished pass (sent before it started) is skipped."""
    number = int(broker.client.incr(nudge_sequence_key(broker.namespace)))
    broker.enqueue(
        dramatiq.Message(
            queue_name=PROJECTIONS_QUEUE,
            actor_name=CATCH_UP_ACTOR,
            args=(number,),
            kwargs={},
            options={"max_retries": 0},
        )
    )
