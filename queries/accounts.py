"""Users and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import fetch_one
from backend.db.tables import sessions, users
from backend.security.tokens import token_digest
from queries.views import SessionUser, UserView


def _user(row: object) -> UserView:
    return UserView(row.id, row.email, row.role, row.status, row.created_at)  # type: ignore[attr-defined]


# Every request authenticates: one statement on the driver's connection (backend.db.driver).
_SESSION_USER = (
    "SELECT u.id, u.email, u.role, u.status, u.created_at, s.id AS session_id, s.expires_at,"
    " a.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id"
    " LEFT JOIN session_activity a ON a.session_id = s.id"
    " WHERE s.token_hash = %(token_hash)s AND s.revoked_at IS NULL AND s.expires_at > now()"
    " AND u.status <> 'locked'"
)


async def get_session_user(conn: AsyncConnection, token: str) -> SessionUser | None:
    """The live session behind a bearer token, or None if unknown, expired or revoked, or if the
    account is locked (its sessions stop working at once, whatever their state)."""
    row = await fetch_one(conn, _SESSION_USER, {"token_hash": token_digest(token)})
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
