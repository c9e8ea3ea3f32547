"""A user's live sessions and security settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.login_tables import session_activity
from backend.db.tables import sessions, users

MAX_LISTED_SESSIONS = 100


@dataclass(frozen=True)
class SessionView:
    id: uuid.UUID
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


async def list_live_sessions(conn: AsyncConnection, user_id: uuid.UUID) -> list[SessionView]:
    """Unrevoked, unexpired sessions, most recently used first (at most 100)."""
    last_seen = func.coalesce(session_activity.c.last_seen_at, sessions.c.created_at)
    rows = await conn.execute(
        select(
            sessions.c.id,
            func.coalesce(session_activity.c.ip, sessions.c.ip).label("ip"),
            sessions.c.user_agent,
            sessions.c.created_at,
            last_seen.label("last_seen_at"),
            sessions.c.expires_at,
        )
        .outerjoin(session_activity, session_activity.c.session_id == sessions.c.id)
        .where(
            sessions.c.user_id == user_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > func.now(),
        )
        .order_by(last_seen.desc(), sessions.c.id)
        .limit(MAX_LISTED_SESSIONS)
    )
    return [SessionView(*row) for row in rows]


async def get_anti_phishing_code(conn: AsyncConnection, user_id: uuid.UUID) -> str | None:
    code: str | None = (
        await conn.execute(select(users.c.anti_phishing_code).where(users.c.id == user_id))
    ).scalar_one_or_none()
    return code
