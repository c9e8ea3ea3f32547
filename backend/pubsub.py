"""Fan-out of Redis pub/sub to in-process subscribers over ONE Redis connection per process.

Each GraphQL subscription gets an asyncio queue; the hub subscribes a Redis channel when its first
local listener arrives and unsubscribes when the last leaves. Payloads stay as the published bytes,
so one message is decoded by each listener only as far as it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

QUEUE_BOUND = 1_000  # a listener this far behind is cut off; its client resyncs from a snapshot


class SubscriberLagging(Exception):
    """The listener fell too far behind; it must re-read the snapshot."""


class Hub:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._listeners: dict[str, set[asyncio.Queue[bytes | None]]] = defaultdict(set)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[bytes | None]]:
        """Messages on `channel` from the moment this returns (subscribe first, then snapshot)."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_BOUND)
        async with self._lock:
            first = not self._listeners[channel]
            self._listeners[channel].add(queue)
            if first:
                await self._pubsub.subscribe(channel)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())
        try:
            yield queue
        finally:
            async with self._lock:
                self._listeners[channel].discard(queue)
                if not self._listeners[channel]:
                    del self._listeners[channel]
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except Exception:
                log.exception("pubsub read failed; listeners will resync")
                for queues in list(self._listeners.values()):
                    for queue in list(queues):
                        _offer(queue, None)
                await asyncio.sleep(0.5)
                continue
            if message is None:
                if not self._listeners:
                    return
                continue
            channel = (
                message["channel"].decode()
                if isinstance(message["channel"], bytes)
                else message["channel"]
            )
            for queue in list(self._listeners.get(channel, ())):
                _offer(queue, message["data"])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]


def _offer(queue: asyncio.Queue[bytes | None], item: bytes | None) -> None:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        # None tells the listener it lost messages (see SubscriberLagging).
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait(None)
