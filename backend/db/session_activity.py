"""A session's last-seen time, written at most once per interval (on the request path)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.login_tables import session_activity


def needs_touch(last_seen_at: datetime | None, interval_seconds: int) -> bool:
    if last_seen_at is None:
        return True
    return datetime.now(UTC) - last_seen_at >= timedelta(seconds=interval_seconds)


async def touch_session(conn: AsyncConnection, session_id: uuid.UUID, ip: str | None) -> None:
    """Bookkeeping, not a state change: no event, no audit row (docs/security-login.md)."""
    statement = insert(session_activity).values(session_id=session_id, ip=ip)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[session_activity.c.session_id],
            set_={"last_seen_at": statement.excluded.last_seen_at, "ip": ip},
        )
    )
