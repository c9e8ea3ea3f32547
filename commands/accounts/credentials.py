"""Email and password, checked the one way every command that takes them checks them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import users
from backend.domain.errors import AccountUnavailable, InvalidCredentials, InvalidInput
from backend.security.passwords import verify_password


async def check_credentials(conn: AsyncConnection, email: str, password: str) -> uuid.UUID:
    """The user's id. An unknown email costs a hash like a wrong password (no timing oracle)
    and answers the same InvalidCredentials; a locked account is AccountUnavailable."""
    if not email.strip():
        raise InvalidInput("email", "email is required")
    if not password:
        raise InvalidInput("password", "password is required")
    row = (
        await conn.execute(
            select(users.c.id, users.c.password_hash, users.c.status).where(
                users.c.email == email.strip().lower()
            )
        )
    ).first()
    if not await verify_password(row.password_hash if row else None, password) or row is None:
        raise InvalidCredentials()
    if row.status == "locked":
        raise AccountUnavailable("this account is locked; contact support")
    user_id: uuid.UUID = row.id
    return user_id
