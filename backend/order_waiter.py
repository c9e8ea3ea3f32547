"""Lets `placeOrder` answer once the matcher has processed the order: one Redis subscription per
API process to the matcher's `spot:processed` channel, resolving waiting requests by order id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator

import orjson

from backend.matching.matcher import PROCESSED_CHANNEL
from backend.pubsub import Hub

log = logging.getLogger(__name__)


class Expectation:
    """Order ids whose processing sets `reported`."""

    def __init__(self, waiting: dict[int, set[asyncio.Event]]) -> None:
        self._waiting = waiting
        self.reported = asyncio.Event()
        self.order_ids: set[int] = set()

    def add(self, order_id: int) -> None:
        self.order_ids.add(order_id)
        self._waiting[order_id].add(self.reported)

    def withdraw(self) -> None:
        for order_id in self.order_ids:
            waiters = self._waiting.get(order_id)
            if waiters is not None:
                waiters.discard(self.reported)
                if not waiters:
                    del self._waiting[order_id]


class OrderWaiter:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._waiting: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 5)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def expect(self, order_ids: list[int]) -> Iterator[asyncio.Event]:
        """An event set when the matcher reports any of `order_ids` processed. Register it
        before checking the order's status, so a report in between is never missed."""
        with self.expecting() as expectation:
            for order_id in order_ids:
                expectation.add(order_id)
            yield expectation.reported

    @contextlib.contextmanager
    def expecting(self) -> Iterator[Expectation]:
        """An expectation to which order ids are added later, e.g. by a command before it
        commits (the matcher cannot see an order before then, so no report is missed)."""
        expectation = Expectation(self._waiting)
        try:
            yield expectation
        finally:
            expectation.withdraw()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.listen(PROCESSED_CHANNEL) as queue:
                    self._ready.set()
                    while True:
                        raw = await queue.get()
                        if raw is None:  # lost messages: wake everyone to re-read the store
                            for waiters in self._waiting.values():
                                for event in waiters:
                                    event.set()
                            continue
                        for order_id in orjson.loads(raw)["orders"]:
                            for event in self._waiting.get(order_id, ()):
                                event.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("order waiter lost Redis; retrying", exc_info=True)
                await asyncio.sleep(1)
