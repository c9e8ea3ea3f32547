"""Log in: check the password and open a server-side, revocable session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import sessions, users
from backend.domain.errors import AccountUnavailable, InvalidCredentials, InvalidInput
from backend.security.passwords import verify_password
from backend.security.tokens import new_token, token_digest
from backend.settings import Settings
from commands.accounts.login_notice import record_login
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StartSession:
    email: str
    password: str
    ttl_seconds: int
    ip: str | None = None
    user_agent: str | None = None
    second_factor: SecondFactorProof | None = None
    settings: Settings | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StartedSession:
    token: str
    session_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


async def start_session(cmd: StartSession, uow: UnitOfWork) -> StartedSession:
    if not cmd.email.strip():
        raise InvalidInput("email", "email is required")
    if not cmd.password:
        raise InvalidInput("password", "password is required")
    row = (
        await uow.conn.execute(
            select(users.c.id, users.c.password_hash, users.c.status).where(
                users.c.email == cmd.email.strip().lower()
            )
        )
    ).first()
    if not await verify_password(row.password_hash if row else None, cmd.password) or row is None:
        raise InvalidCredentials()
    if row.status == "locked":
        raise AccountUnavailable("this account is locked; contact support")
    # After the password, so a wrong password never learns whether 2FA is on; no session without.
    await require_second_factor(
        uow.conn, row.id, cmd.second_factor, cmd.settings or Settings.from_env()
    )
    token = new_token()
    session_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(seconds=cmd.ttl_seconds)
    await uow.conn.execute(
        sessions.insert().values(
            token_hash=token_digest(token),
            id=session_id,
            user_id=row.id,
            expires_at=expires_at,
            ip=cmd.ip,
            user_agent=(cmd.user_agent or "")[:256] or None,
        )
    )
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{row.id}",
                "account.session_started",
                {
                    "user_id": str(row.id),
                    "session_id": str(session_id),
                    "expires_at": expires_at.isoformat(),
                },
            )
        ],
    )
    # Known devices, the new-device email (outbox) and the audit row, in this transaction.
    await record_login(uow.conn, row.id, session_id, cmd.ip, cmd.user_agent)
    return StartedSession(token, session_id, row.id, expires_at)
