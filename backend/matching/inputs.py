"""The matcher's inputs: accepted orders, cancels, amends and market updates, in log order."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import driver_connection
from backend.db.event_store import Checkpoint
from backend.events import upcast

INPUT_TYPES = [
    "spot.order_accepted",
    "spot.cancel_requested",
    "spot.cancel_all_requested",
    "spot.amend_requested",
    "admin.market_updated",
]

# Same visibility rule as every reader of the log (backend/db/event_store.py): only transactions
# older than the oldest running one, in (xact_id, position) order, so no late commit is skipped.
# ORDER BY names the table's columns: the bare `xact_id` would be the bigint output column, which
# no index serves, so every batch would sort the market's whole backlog. The payload comes as
# text for orjson (psycopg would decode jsonb with the standard library's json, 5x slower).
_READ = (
    "SELECT e.xact_id::text::bigint, e.position, e.event_type, e.schema_version, e.data::text,"
    " e.recorded_at FROM events e"
    " WHERE e.stream = %s AND (e.xact_id, e.position) > (%s::text::xid8, %s)"
    "   AND e.xact_id < pg_snapshot_xmin(pg_current_snapshot())"
    "   AND e.event_type = ANY(%s::text[])"
    " ORDER BY e.xact_id, e.position LIMIT %s"
)


class MatcherInput(NamedTuple):
    xact_id: int
    position: int
    kind: str
    data: dict[str, Any]
    recorded_at: datetime


async def read_inputs(
    conn: AsyncConnection, market: str, after: Checkpoint, limit: int
) -> list[MatcherInput]:
    pg = await driver_connection(conn)
    # The index walk must not depend on statistics: a backlog that grew since the last ANALYZE
    # looks tiny to the planner, which then sorts all of it (a sort of 20,000 events per batch).
    # The batch's own statements need no sort either (joins and updates by primary key).
    await pg.execute("SET LOCAL enable_sort = off")
    async with pg.cursor() as cur:
        await cur.execute(
            _READ, (f"market:{market}", str(after.xact_id), after.position, INPUT_TYPES, limit)
        )
        rows = await cur.fetchall()
    loads = orjson.loads
    return [
        MatcherInput(xact_id, position, kind, upcast(kind, version, loads(data)), recorded_at)
        for xact_id, position, kind, version, data, recorded_at in rows
    ]
