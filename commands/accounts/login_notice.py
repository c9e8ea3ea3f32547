"""After a successful login, in its transaction: remember the device, queue a notification email
when the device or network is new for the user, audit the login."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from sqlalchemy import literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.login_tables import email_outbox, known_devices
from backend.db.session_activity import touch_session
from backend.db.tables import users
from backend.notifications.emails import login_notice
from backend.security.user_agent import describe_device


def device_fingerprint(ip: str | None, user_agent: str | None) -> str:
    return hashlib.sha256(f"{ip or ''}\n{user_agent or ''}".encode()).hexdigest()


async def _remember_device(
    conn: AsyncConnection, user_id: uuid.UUID, ip: str | None, user_agent: str | None
) -> bool:
    """True when the device is new for a user who had logged in before. A user's very first
    login sets the baseline without an email: the account was just opened."""
    fingerprint = device_fingerprint(ip, user_agent)
    seen_before = (
        await conn.execute(
            select(literal_column("1")).where(known_devices.c.user_id == user_id).limit(1)
        )
    ).first() is not None
    inserted: bool = (
        await conn.execute(
            insert(known_devices)
            .values(user_id=user_id, fingerprint=fingerprint, ip=ip, user_agent=user_agent)
            .on_conflict_do_update(
                index_elements=[known_devices.c.user_id, known_devices.c.fingerprint],
                set_={"last_seen_at": datetime.now(UTC)},
            )
            .returning(literal_column("xmax = 0").label("inserted"))
        )
    ).scalar_one()
    return bool(inserted) and seen_before


async def record_login(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    ip: str | None,
    user_agent: str | None,
) -> None:
    user_agent = (user_agent or "")[:256] or None
    new_device = await _remember_device(conn, user_id, ip, user_agent)
    await touch_session(conn, session_id, ip)
    device = describe_device(user_agent)
    if new_device:
        user = (
            await conn.execute(
                select(users.c.email, users.c.anti_phishing_code).where(users.c.id == user_id)
            )
        ).one()
        email = login_notice(user.anti_phishing_code, datetime.now(UTC), ip, device)
        outbox_id = uuid.uuid4()
        await conn.execute(
            email_outbox.insert().values(
                id=outbox_id,
                user_id=user_id,
                kind="login_notice",
                to_address=user.email,
                subject=email.subject,
                body=email.body,
            )
        )
        await append_events(
            conn,
            [
                NewEvent(
                    f"user:{user_id}",
                    "account.new_device_login",
                    {
                        "user_id": str(user_id),
                        "session_id": str(session_id),
                        "ip": ip,
                        "device": device,
                        "email_id": str(outbox_id),
                    },
                )
            ],
        )
    await record_audit(
        conn,
        "account.login",
        f"user:{user_id}",
        after={"session_id": str(session_id), "ip": ip, "device": device, "new_device": new_device},
    )
