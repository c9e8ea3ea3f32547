"""What an account's status allows, for the commands that must ask (withdrawals, later)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import users
from backend.domain.errors import AccountUnavailable, NotFound


async def ensure_can_withdraw(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """Raises AccountUnavailable unless the account is active. Call it inside the withdrawal's
    transaction: the row is read FOR SHARE, so a concurrent freeze waits for the withdrawal (or
    the withdrawal for the freeze) and never slips past it."""
    status = (
        await conn.execute(
            select(users.c.status).where(users.c.id == user_id).with_for_update(read=True)
        )
    ).scalar_one_or_none()
    if status is None:
        raise NotFound("no user with this id")
    if status != "active":
        raise AccountUnavailable(f"the account is {status}: withdrawals are not allowed")
