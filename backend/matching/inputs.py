"""The matcher's inputs: accepted orders, cancels, amends and market updates, in log order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import Checkpoint
from backend.events import upcast

INPUT_TYPES = (
    "spot.order_accepted",
    "spot.cancel_requested",
    "spot.cancel_all_requested",
    "spot.amend_requested",
    "admin.market_updated",
)

# Same visibility rule as every reader of the log (backend/db/event_store.py): only transactions
# older than the oldest running one, in (xact_id, position) order, so no late commit is skipped.
_READ = text(
    "SELECT xact_id::text::bigint AS xact_id, position, event_type, schema_version, data,"
    " recorded_at FROM events"
    " WHERE stream = :stream AND (xact_id, position) > (CAST(:xact_id AS text)::xid8, :position)"
    "   AND xact_id < pg_snapshot_xmin(pg_current_snapshot())"
    "   AND event_type = ANY(CAST(:types AS text[]))"
    " ORDER BY xact_id, position LIMIT :limit"
)


@dataclass(frozen=True)
class MatcherInput:
    xact_id: int
    position: int
    kind: str
    data: dict[str, Any]
    recorded_at: datetime


async def read_inputs(
    conn: AsyncConnection, market: str, after: Checkpoint, limit: int
) -> list[MatcherInput]:
    rows = await conn.execute(
        _READ,
        {
            "stream": f"market:{market}",
            "xact_id": str(after.xact_id),
            "position": after.position,
            "types": list(INPUT_TYPES),
            "limit": limit,
        },
    )
    return [
        MatcherInput(
            r.xact_id,
            r.position,
            r.event_type,
            upcast(r.event_type, r.schema_version, r.data),
            r.recorded_at,
        )
        for r in rows
    ]
