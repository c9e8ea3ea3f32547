"""Draining the email outbox: claim due rows, send each, mark it sent or retry with backoff.

Rows are queued in the transaction of whatever caused them (a login), so an email exists exactly
when its cause committed. Claiming pushes `next_attempt_at` forward in a short transaction of its
own; nothing is held open while SMTP talks, and a worker that dies mid-send only delays the row
until its claim runs out. Delivery is at-least-once: a crash between sending and marking sends
the message again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.login_tables import email_outbox
from backend.notifications.senders import EmailSender

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
"""How long a claimed row is left alone; longer than one SMTP exchange can take."""
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600


@dataclass(frozen=True)
class OutgoingEmail:
    id: uuid.UUID
    to_address: str
    subject: str
    body: str
    attempts: int


def backoff_seconds(attempts: int) -> int:
    """After the n-th failed attempt: 5 s, 10 s, 20 s, ... at most an hour."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** min(attempts - 1, 20), BACKOFF_MAX_SECONDS))


def to_message(row: OutgoingEmail, sender_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    # Stable per outbox row, so a message re-sent after a crash is recognisably the same one.
    message["Message-ID"] = make_msgid(idstring=row.id.hex, domain="exchange.local")
    message.set_content(row.body)
    return message


async def claim_due(engine: AsyncEngine, limit: int = 20) -> list[OutgoingEmail]:
    due = (
        select(email_outbox.c.id)
        .where(email_outbox.c.status == "pending", email_outbox.c.next_attempt_at <= func.now())
        .order_by(email_outbox.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with engine.begin() as conn:
        rows = await conn.execute(
            update(email_outbox)
            .where(email_outbox.c.id.in_(due))
            .values(next_attempt_at=func.now() + timedelta(seconds=CLAIM_SECONDS))
            .returning(
                email_outbox.c.id,
                email_outbox.c.to_address,
                email_outbox.c.subject,
                email_outbox.c.body,
                email_outbox.c.attempts,
            )
        )
        return [OutgoingEmail(*row) for row in rows]


async def _mark_sent(engine: AsyncEngine, email_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(email_outbox)
            .where(email_outbox.c.id == email_id)
            .values(
                status="sent",
                sent_at=func.now(),
                attempts=email_outbox.c.attempts + 1,
                last_error=None,
            )
        )


async def _mark_failed(
    engine: AsyncEngine, row: OutgoingEmail, error: str, max_attempts: int
) -> None:
    attempts = row.attempts + 1
    gave_up = attempts >= max_attempts
    async with engine.begin() as conn:
        await conn.execute(
            update(email_outbox)
            .where(email_outbox.c.id == row.id)
            .values(
                status="failed" if gave_up else "pending",
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=func.now() + timedelta(seconds=backoff_seconds(attempts)),
            )
        )
    log.warning(
        "email delivery failed",
        extra={"email_id": str(row.id), "attempts": attempts, "gave_up": gave_up},
    )


async def drain_once(
    engine: AsyncEngine, sender: EmailSender, sender_address: str, max_attempts: int
) -> int:
    """Sends what is due; returns how many were sent."""
    sent = 0
    for row in await claim_due(engine):
        try:
            await sender.send(to_message(row, sender_address))
        except Exception as exc:  # any delivery problem: retry later, never lose the row
            await _mark_failed(engine, row, f"{type(exc).__name__}: {exc}", max_attempts)
            continue
        await _mark_sent(engine, row.id)
        sent += 1
    return sent
