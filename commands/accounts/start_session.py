"""Log in: check the password and open a server-side, revocable session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import sessions
from backend.security.tokens import new_token, token_digest
from backend.settings import Settings
from commands.accounts.credentials import check_credentials
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
    user_id = await check_credentials(uow.conn, cmd.email, cmd.password)
    # After the password, so a wrong password never learns whether 2FA is on; no session without.
    await require_second_factor(
        uow.conn, user_id, cmd.second_factor, cmd.settings or Settings.from_env()
    )
    token = new_token()
    session_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(seconds=cmd.ttl_seconds)
    await uow.conn.execute(
        sessions.insert().values(
            token_hash=token_digest(token),
            id=session_id,
            user_id=user_id,
            expires_at=expires_at,
            ip=cmd.ip,
            user_agent=(cmd.user_agent or "")[:256] or None,
        )
    )
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{user_id}",
                "account.session_started",
                {
                    "user_id": str(user_id),
                    "session_id": str(session_id),
                    "expires_at": expires_at.isoformat(),
                },
            )
        ],
    )
    # Known devices, the new-device email (outbox) and the audit row, in this transaction.
    await record_login(uow.conn, user_id, session_id, cmd.ip, cmd.user_agent)
    return StartedSession(token, session_id, user_id, expires_at)
