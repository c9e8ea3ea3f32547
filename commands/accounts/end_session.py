"""Log out: revoke the current session server-side (its token stops working at once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, update

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import sessions
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class EndSession:
    user_id: uuid.UUID
    session_id: uuid.UUID


async def end_session(cmd: EndSession, uow: UnitOfWork) -> bool:
    """True if it was live; revoking a revoked session again is a harmless no-op."""
    revoked = await uow.conn.execute(
        update(sessions)
        .where(
            sessions.c.id == cmd.session_id,
            sessions.c.user_id == cmd.user_id,
            sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
        .returning(sessions.c.id)
    )
    if revoked.first() is None:
        return False
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{cmd.user_id}",
                "account.session_revoked",
                {"user_id": str(cmd.user_id), "session_id": str(cmd.session_id), "by": "user"},
            )
        ],
    )
    return True
