"""Register a user account. Retrying with the same email and password returns the same user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import users
from backend.domain.errors import EmailTaken
from backend.security.passwords import hash_password, verify_password
from commands.accounts.validation import check_password, normalize_email
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RegisterUser:
    email: str
    password: str
    role: str = "user"


async def register_user(cmd: RegisterUser, uow: UnitOfWork) -> uuid.UUID:
    email = normalize_email(cmd.email)
    password = check_password(cmd.password)
    password_hash = await hash_password(password)
    user_id = uuid.uuid4()
    inserted = await uow.conn.execute(
        insert(users)
        .values(id=user_id, email=email, password_hash=password_hash, role=cmd.role)
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(users.c.id)
    )
    if inserted.first() is None:
        existing = (
            await uow.conn.execute(
                select(users.c.id, users.c.password_hash).where(users.c.email == email)
            )
        ).one()
        if await verify_password(existing.password_hash, password):
            existing_id: uuid.UUID = existing.id
            return existing_id  # a retry of the same registration
        raise EmailTaken()
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{user_id}",
                "account.user_registered",
                {"user_id": str(user_id), "email": email, "role": cmd.role},
            )
        ],
    )
    return user_id
