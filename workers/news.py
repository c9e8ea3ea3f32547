"""Which projections have events to apply: one query for all, so a nudge costs a single round
trip when nothing new is visible, and a pass runs only the projections whose events appeared."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import autocommit
from projections.base import Projection

# One (projection, event type) pair per row; a projection has news when an event of one of its
# types lies after its checkpoint and below the visibility horizon (as read_events reads).
_NEWS = text(
    "SELECT DISTINCT w.name FROM unnest(CAST(:names AS text[]), CAST(:types AS text[]))"
    " AS w(name, event_type)"
    " LEFT JOIN projection_checkpoints c ON c.name = w.name"
    " WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_type = w.event_type"
    "   AND (e.xact_id, e.position) > (COALESCE(c.xact_id, '0'::xid8), COALESCE(c.position, 0))"
    "   AND e.xact_id < pg_snapshot_xmin(pg_current_snapshot()))"
)


async def projections_with_news(
    engine: AsyncEngine, projections: Iterable[Projection]
) -> list[Projection]:
    """The given projections that have events to apply, in the given order."""
    candidates = list(projections)
    pairs = [(p.name, t) for p in candidates for t in p.event_types]
    async with autocommit(engine) as conn:
        rows = await conn.execute(
            _NEWS, {"names": [n for n, _ in pairs], "types": [t for _, t in pairs]}
        )
        names = {r.name for r in rows}
    return [p for p in candidates if p.name in names]
