"""Make sure the bootstrap admin named in the environment exists (run at every start)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import users
from commands.accounts.register_user import RegisterUser, register_user
from commands.accounts.validation import normalize_email
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class EnsureAdmin:
    email: str
    password: str


async def ensure_admin(cmd: EnsureAdmin, uow: UnitOfWork) -> uuid.UUID:
    email = normalize_email(cmd.email)
    row = (
        await uow.conn.execute(select(users.c.id, users.c.role).where(users.c.email == email))
    ).first()
    if row is None:
        return await register_user(RegisterUser(email, cmd.password, role="admin"), uow)
    if row.role != "admin":
        await uow.conn.execute(users.update().where(users.c.id == row.id).values(role="admin"))
        await append_events(
            uow.conn,
            [
                NewEvent(
                    f"user:{row.id}",
                    "account.role_granted",
                    {"user_id": str(row.id), "role": "admin", "by": "bootstrap"},
                )
            ],
        )
    user_id: uuid.UUID = row.id
    return user_id
