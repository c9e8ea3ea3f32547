"""What every 2FA or password change writes: an event, an audit row, and the withdrawal lock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.two_factor_tables import user_security
from backend.settings import Settings


async def record_change(
    conn: AsyncConnection, user_id: uuid.UUID, event_type: str, action: str, details: dict[str, Any]
) -> None:
    """An event on the user's stream and an audit row, in the caller's transaction."""
    await append_events(
        conn, [NewEvent(f"user:{user_id}", event_type, {"user_id": str(user_id), **details})]
    )
    await record_audit(conn, action, f"user:{user_id}", after=details)


async def lock_withdrawals(
    conn: AsyncConnection, user_id: uuid.UUID, settings: Settings
) -> datetime:
    """Refuse withdrawals for a while (24 h by default); an existing later lock is kept."""
    until = func.now() + timedelta(hours=settings.withdrawal_lock_hours)
    stmt = insert(user_security).values(user_id=user_id, withdrawals_locked_until=until)
    locked: datetime = (
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[user_security.c.user_id],
                set_={
                    "withdrawals_locked_until": func.greatest(
                        user_security.c.withdrawals_locked_until,
                        stmt.excluded.withdrawals_locked_until,
                    ),
                    "updated_at": func.now(),
                },
            ).returning(user_security.c.withdrawals_locked_until)
        )
    ).scalar_one()
    return locked
