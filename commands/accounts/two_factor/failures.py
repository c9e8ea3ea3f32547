"""Wrong second factors in a row, per user: past the limit, 2FA is refused for a while, so the
million TOTP codes cannot be tried one after another.

A failure is counted in its OWN transaction: the command that saw the wrong code fails and rolls
back, and the count must survive that. (So a wrong code changes this counter, and nothing else.)
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import user_security

MAX_FAILURES = 10
BLOCK = timedelta(minutes=15)


async def blocked_until(conn: AsyncConnection, user_id: uuid.UUID) -> datetime | None:
    until: datetime | None = (
        await conn.execute(
            select(user_security.c.second_factor_blocked_until).where(
                user_security.c.user_id == user_id,
                user_security.c.second_factor_blocked_until > func.now(),
            )
        )
    ).scalar_one_or_none()
    return until


async def count_failure(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """Counts a wrong second factor, committed on a connection of its own."""
    failures = user_security.c.second_factor_failures
    reaches_limit = failures + 1 >= MAX_FAILURES
    stmt = insert(user_security).values(user_id=user_id, second_factor_failures=1)
    async with conn.engine.begin() as own:
        await own.execute(
            stmt.on_conflict_do_update(
                index_elements=[user_security.c.user_id],
                set_={
                    # Reaching the limit blocks and starts a fresh count for after the block.
                    "second_factor_failures": case((reaches_limit, 0), else_=failures + 1),
                    "second_factor_blocked_until": case(
                        (reaches_limit, func.now() + BLOCK),
                        else_=user_security.c.second_factor_blocked_until,
                    ),
                    "updated_at": func.now(),
                },
            )
        )


async def clear_failures(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    await conn.execute(
        update(user_security)
        .where(user_security.c.user_id == user_id, user_security.c.second_factor_failures > 0)
        .values(second_factor_failures=0, updated_at=func.now())
    )
