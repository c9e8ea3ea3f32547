"""Change the password: the current one, a second factor when enabled; every other session of
the user is revoked and withdrawals are locked for a while."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import sessions, users
from backend.domain.errors import InvalidInput
from backend.security.passwords import hash_password, verify_password
from backend.settings import Settings
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.accounts.two_factor.records import lock_withdrawals, record_change
from commands.accounts.validation import check_password
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChangePassword:
    user_id: uuid.UUID
    session_id: uuid.UUID  # the session asking: it stays signed in
    current_password: str = field(repr=False)
    new_password: str = field(repr=False)
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


@dataclass(frozen=True)
class PasswordChanged:
    revoked_sessions: int
    withdrawals_locked_until: datetime


def _check_new_password(password: str) -> str:
    try:
        return check_password(password)
    except InvalidInput as exc:
        raise InvalidInput(
            "newPassword", exc.message.replace("password", "new password", 1)
        ) from None


async def change_password(cmd: ChangePassword, uow: UnitOfWork) -> PasswordChanged:
    conn = uow.conn
    new_password = _check_new_password(cmd.new_password)
    if not cmd.current_password:
        raise InvalidInput("currentPassword", "the current password is required")
    current_hash = (
        await conn.execute(
            select(users.c.password_hash).where(users.c.id == cmd.user_id).with_for_update()
        )
    ).scalar_one()
    if not await verify_password(current_hash, cmd.current_password):
        raise InvalidInput("currentPassword", "the current password is wrong")
    if new_password == cmd.current_password:
        raise InvalidInput("newPassword", "the new password must differ from the current one")
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    await conn.execute(
        update(users)
        .where(users.c.id == cmd.user_id)
        .values(password_hash=await hash_password(new_password))
    )
    revoked = await _revoke_other_sessions(uow, cmd.user_id, cmd.session_id)
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.password_changed",
        "account.password_change",
        {"revoked_sessions": len(revoked), "withdrawals_locked_until": locked_until.isoformat()},
    )
    return PasswordChanged(len(revoked), locked_until)


async def _revoke_other_sessions(
    uow: UnitOfWork, user_id: uuid.UUID, keep: uuid.UUID
) -> list[uuid.UUID]:
    rows = await uow.conn.execute(
        update(sessions)
        .where(
            sessions.c.user_id == user_id,
            sessions.c.id != keep,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > func.now(),
        )
        .values(revoked_at=func.now())
        .returning(sessions.c.id)
    )
    revoked = [row.id for row in rows]
    if revoked:
        await append_events(
            uow.conn,
            [
                NewEvent(
                    f"user:{user_id}",
                    "account.session_revoked",
                    {"user_id": str(user_id), "session_id": str(s), "by": "password_change"},
                )
                for s in revoked
            ],
        )
    return revoked
