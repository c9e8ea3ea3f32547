"""Ends WebSocket connections whose session stops working (revoked, expired, account locked).

A WebSocket authenticates once, at connection_init; without this a revoked session would keep
its live subscriptions until the client reconnected. One query per interval checks every
watched connection of the process, so a thousand subscribers cost one query, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.websockets import WebSocket, WebSocketState

from queries.accounts import live_sessions

log = logging.getLogger(__name__)

SESSION_ENDED = 4401
"""The close code a client sees: log in again (graphql-transport-ws leaves 4400-4499 to us)."""


class SessionWatch:
    def __init__(self, engine: AsyncEngine, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._watched: dict[WebSocket, uuid.UUID] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, websocket: WebSocket, session_id: uuid.UUID) -> None:
        self._watched[websocket] = session_id
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-watch")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._watched:
            await asyncio.sleep(self._interval)
            try:
                await self.check_once()
            except Exception:  # the database is away: check again next time
                log.warning("session watch could not check sessions", exc_info=True)

    async def check_once(self) -> None:
        for websocket in [w for w in self._watched if _gone(w)]:
            del self._watched[websocket]
        if not self._watched:
            return
        async with self._engine.connect() as conn:
            alive = await live_sessions(conn, list(set(self._watched.values())))
        for websocket, session_id in list(self._watched.items()):
            if session_id not in alive:
                del self._watched[websocket]
                with contextlib.suppress(Exception):  # it may be closing by itself
                    await websocket.close(SESSION_ENDED, "session ended; log in again")


def _gone(websocket: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state)
