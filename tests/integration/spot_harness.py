"""Runs the matcher in-process against a database (no Redis), for integration and property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.matching.inputs import read_inputs
from backend.matching.matcher import Batcher, try_lead
from backend.matching.state import load_cursor, load_engine, market_info
from backend.settings import Settings


class InProcessMatcher:
    """Leads one market and drains its inputs on demand, with a controllable clock."""

    def __init__(self, engine: AsyncEngine, settings: Settings, symbol: str) -> None:
        self.engine, self.settings, self.symbol = engine, settings, symbol
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.batcher: Batcher | None = None
        self._lead = None

    async def start(self) -> None:
        lead = await try_lead(self.engine, self.symbol)
        assert lead is not None, "another matcher leads this market"
        self._lead = lead  # type: ignore[assignment]
        market = await market_info(lead.conn, self.symbol)
        cursor = await load_cursor(lead.conn, self.symbol)
        engine, registry = await load_engine(lead.conn, market, cursor)
        await lead.conn.commit()
        self.batcher = Batcher(self.settings, market, engine, registry, cursor, lead.epoch)

    async def drain(self, batch_size: int = 500) -> int:
        """Process every visible input; returns how many batches ran."""
        assert self._lead is not None and self.batcher is not None
        conn = self._lead.conn  # type: ignore[attr-defined]
        batches = 0
        while True:
            async with conn.begin():
                inputs = await read_inputs(
                    conn, self.symbol, self.batcher.cursor.checkpoint, batch_size
                )
                if not inputs:
                    return batches
                self.clock += timedelta(milliseconds=1)
                await self.batcher.run(conn, inputs, self.clock)
            batches += 1

    async def _unread(self, conn: AsyncConnection) -> bool:
        """Committed inputs that no batch has taken yet (visible or not to the log's reader)."""
        return bool(
            (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM events WHERE stream = :s"
                        "         AND event_type <> 'spot.batch_matched')"
                        "     > (SELECT COALESCE(sum(jsonb_array_length(data->'inputs')), 0)"
                        "         FROM events"
                        "         WHERE stream = :s AND event_type = 'spot.batch_matched')"
                    ),
                    {"s": f"market:{self.symbol}"},
                )
            ).scalar_one()
        )

    async def stop(self) -> None:
        if self._lead is not None:
            await self._lead.conn.close()  # type: ignore[attr-defined]
