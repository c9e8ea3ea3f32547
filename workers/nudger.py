"""Coalesced projection nudges: a burst of commits costs one queue message, not one each.

The worker catches every projection up to everything committed before it runs, so nudges are
idempotent: after the first of a burst, the others only make it run again with nothing to do.
Requests arriving while a nudge is being sent are folded into the next one, so the last commit
of a burst is always followed by a nudge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class CoalescingNudger:
    def __init__(self, send: Callable[[], None], min_interval_seconds: float = 0.025) -> None:
        self._send = send
        self._interval = min_interval_seconds
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def request(self) -> None:
        """Ask for a nudge soon (cheap: no I/O here)."""
        self._wanted.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="projection-nudger")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await asyncio.to_thread(self._send)
            except Exception:  # the worker's sweep catches up anyway; never fail a commit
                log.warning("could not nudge projections", exc_info=True)
            await asyncio.sleep(self._interval)
