"""Append to and read from the event log.

Positions come from an identity column, so two writers never wait on each other; but a reader
that simply followed positions could skip an event whose transaction took a lower position and
committed later. Each event therefore stores its transaction id (`xact_id`), and readers:
  * order by (xact_id, position), and
  * read only events of transactions older than the oldest still running
    (`pg_snapshot_xmin(pg_current_snapshot())`).
Every such transaction has finished, and every later writer gets a larger xact_id, so the
(xact_id, position) order never grows "behind" a reader's checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.events import current_version, upcast
from backend.request_context import current_request


@dataclass(frozen=True)
class NewEvent:
    stream: str
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredEvent:
    xact_id: int
    position: int
    stream: str
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A reader's place in the log: everything at or below (xact_id, position) was read."""

    xact_id: int = 0
    position: int = 0


_INSERT = text(
    "INSERT INTO events (stream, event_type, schema_version, data, metadata)"
    " VALUES (:stream, :event_type, :schema_version,"
    " CAST(:data AS jsonb), CAST(:metadata AS jsonb))"
)

_READ = text(
    "SELECT xact_id::text::bigint AS xact_id, position, stream, event_type, schema_version, data,"
    " metadata, recorded_at FROM events"
    " WHERE (xact_id, position) > (CAST(:xact_id AS text)::xid8, :position)"
    "   AND xact_id < pg_snapshot_xmin(pg_current_snapshot())"
    "   AND (CAST(:types AS text[]) IS NULL OR event_type = ANY(CAST(:types AS text[])))"
    # The table's columns, not the bigint output `xact_id`: only those follow the index (by the
    # output column, every read sorted the whole rest of the log).
    " ORDER BY events.xact_id, events.position LIMIT :limit"
)

# The bounds of the next window: its last event and how many it holds (`read_events` without
# the payloads, for projections that read those in SQL themselves).
_WINDOW_END = text(
    "SELECT xact_id::text::bigint AS xact_id, position, count(*) OVER () AS events FROM ("
    "  SELECT xact_id, position FROM events"
    "  WHERE (xact_id, position) > (CAST(:xact_id AS text)::xid8, :position)"
    "    AND xact_id < pg_snapshot_xmin(pg_current_snapshot())"
    "    AND event_type = ANY(CAST(:types AS text[]))"
    "  ORDER BY xact_id, position LIMIT :limit) w"
    " ORDER BY xact_id DESC, position DESC LIMIT 1"
)


async def append_events(conn: AsyncConnection, events: list[NewEvent]) -> None:
    """Append in the caller's transaction: events commit or vanish with the state they describe."""
    if not events:
        return
    import orjson

    request_meta = current_request.get().as_metadata()
    await conn.execute(
        _INSERT,
        [
            {
                "stream": e.stream,
                "event_type": e.event_type,
                "schema_version": current_version(e.event_type),
                "data": orjson.dumps(e.data).decode(),
                "metadata": orjson.dumps({**request_meta, **e.metadata}).decode(),
            }
            for e in events
        ],
    )


async def read_events(
    conn: AsyncConnection,
    after: Checkpoint,
    limit: int,
    event_types: list[str] | None = None,
) -> list[StoredEvent]:
    """Events after `after` that no running transaction can still precede, in log order."""
    rows = await conn.execute(
        _READ,
        {
            "xact_id": str(after.xact_id),
            "position": after.position,
            "types": event_types,
            "limit": limit,
        },
    )
    return [
        StoredEvent(
            xact_id=r.xact_id,
            position=r.position,
            stream=r.stream,
            event_type=r.event_type,
            data=upcast(r.event_type, r.schema_version, r.data),
            metadata=r.metadata,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


async def read_window_end(
    conn: AsyncConnection, after: Checkpoint, limit: int, event_types: list[str]
) -> tuple[Checkpoint, int]:
    """Where the next `limit` events of `event_types` after `after` that no running transaction
    can still precede end, and how many there are (`after` and 0 when there are none)."""
    row = (
        await conn.execute(
            _WINDOW_END,
            {
                "xact_id": str(after.xact_id),
                "position": after.position,
                "types": event_types,
                "limit": limit,
            },
        )
    ).first()
    if row is None:
        return after, 0
    return Checkpoint(row.xact_id, row.position), row.events
