"""Revoke one of my sessions, or all my sessions but the current one (a token stops at once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import sessions
from backend.domain.errors import InvalidInput, NotFound
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RevokeSession:
    user_id: uuid.UUID
    session_id: str


@dataclass(frozen=True)
class RevokeOtherSessions:
    user_id: uuid.UUID
    current_session_id: uuid.UUID


async def revoke_where(
    conn: AsyncConnection, user_id: uuid.UUID, *conditions: object, by: str
) -> list[uuid.UUID]:
    """Revokes the user's live sessions matching `conditions`, one event each; returns their ids."""
    revoked = [
        row.id
        for row in await conn.execute(
            update(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > func.now(),
                *conditions,  # type: ignore[arg-type]
            )
            .values(revoked_at=func.now())
            .returning(sessions.c.id)
        )
    ]
    await append_events(
        conn,
        [
            NewEvent(
                f"user:{user_id}",
                "account.session_revoked",
                {"user_id": str(user_id), "session_id": str(session_id), "by": by},
            )
            for session_id in revoked
        ],
    )
    return revoked


async def revoke_session(cmd: RevokeSession, uow: UnitOfWork) -> bool:
    """True if it was live, False if it had already ended. Another user's session is NOT_FOUND,
    exactly like one that never existed."""
    try:
        session_id = uuid.UUID(cmd.session_id.strip())
    except ValueError:
        raise InvalidInput("id", "id is not a session id") from None
    conn = uow.conn
    owned = (
        await conn.execute(
            select(sessions.c.id).where(
                sessions.c.id == session_id, sessions.c.user_id == cmd.user_id
            )
        )
    ).first()
    if owned is None:
        raise NotFound("no such session")
    revoked = await revoke_where(conn, cmd.user_id, sessions.c.id == session_id, by="user")
    if revoked:
        await record_audit(
            conn,
            "account.session_revoke",
            f"user:{cmd.user_id}",
            after={"session_id": str(session_id)},
        )
    return bool(revoked)


async def revoke_other_sessions(cmd: RevokeOtherSessions, uow: UnitOfWork) -> int:
    conn = uow.conn
    revoked = await revoke_where(
        conn, cmd.user_id, sessions.c.id != cmd.current_session_id, by="user"
    )
    if revoked:
        await record_audit(
            conn,
            "account.other_sessions_revoke",
            f"user:{cmd.user_id}",
            after={"kept": str(cmd.current_session_id), "revoked": [str(s) for s in revoked]},
        )
    return len(revoked)
