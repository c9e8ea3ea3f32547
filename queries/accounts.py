"""Users and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.login_tables import session_activity
from backend.db.tables import sessions, users
from backend.security.tokens import token_digest
from queries.views import SessionUser, UserView


def _user(row: object) -> UserView:
    return UserView(row.id, row.email, row.role, row.status, row.created_at)  # type: ignore[attr-defined]


async def get_session_user(conn: AsyncConnection, token: str) -> SessionUser | None:
    """The live session behind a bearer token, or None if unknown, expired or revoked, or if the
    account is locked (its sessions stop working at once, whatever their state)."""
    row = (
        await conn.execute(
            select(
                users,
                sessions.c.id.label("session_id"),
                sessions.c.expires_at,
                session_activity.c.last_seen_at,
            )
            .join(sessions, sessions.c.user_id == users.c.id)
            .outerjoin(session_activity, session_activity.c.session_id == sessions.c.id)
            .where(
                sessions.c.token_hash == token_digest(token),
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > func.now(),
                users.c.status != "locked",
            )
        )
    ).first()
    if row is None:
        return None
    return SessionUser(_user(row), row.session_id, row.expires_at, row.last_seen_at)


async def get_user(conn: AsyncConnection, user_id: uuid.UUID) -> UserView | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    return _user(row) if row else None


async def list_users(
    conn: AsyncConnection, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[UserView]:
    """Users by (created_at, id): keyset pagination, stable under inserts."""
    query = select(users).order_by(users.c.created_at, users.c.id).limit(limit)
    if after is not None:
        query = query.where(tuple_(users.c.created_at, users.c.id) > tuple_(*after))
    return [_user(r) for r in await conn.execute(query)]


async def live_sessions(conn: AsyncConnection, session_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these sessions still work (not revoked, not expired, account not locked)."""
    rows = await conn.execute(
        select(sessions.c.id)
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            sessions.c.id.in_(session_ids),
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > func.now(),
            users.c.status != "locked",
        )
    )
    return {r.id for r in rows}
