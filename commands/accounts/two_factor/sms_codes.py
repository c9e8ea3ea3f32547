"""Short-lived SMS codes: 6 digits, stored as argon2id hashes, single use, few attempts, and
sent only after the transaction that stored them commits."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import sms_codes
from backend.domain.errors import InvalidSecondFactor, LimitExceeded
from backend.security.passwords import hash_password, verify_password
from backend.settings import Settings
from backend.sms import SmsDeliveryFailed, sms_sender_for
from commands.unit_of_work import UnitOfWork
from queries.account_security import mask_phone

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CODE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class SmsCodeIssued:
    expires_at: datetime
    phone_hint: str


def is_well_formed(code: str) -> bool:
    return bool(CODE.match(code))


async def issue_code(
    uow: UnitOfWork, user_id: uuid.UUID, purpose: str, phone: str, settings: Settings
) -> SmsCodeIssued:
    """Stores a new code (the user's older codes of this purpose stop counting) and sends it
    after commit. At most one code per resend interval, so nobody can flood a phone."""
    conn = uow.conn
    sender = sms_sender_for(settings)  # a misconfigured provider fails before anything is stored
    # Serializes this user's requests, so two at once cannot both pass the resend check.
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"sms:{user_id}"}
    )
    await _check_resend_interval(conn, user_id, settings)
    code = f"{secrets.randbelow(10**6):06d}"
    expires_at: datetime = (
        await conn.execute(
            sms_codes.insert()
            .values(
                user_id=user_id,
                purpose=purpose,
                phone=phone,
                code_hash=await hash_password(code),
                expires_at=func.now() + timedelta(seconds=settings.sms_code_ttl_seconds),
            )
            .returning(sms_codes.c.expires_at)
        )
    ).scalar_one()
    minutes = max(settings.sms_code_ttl_seconds // 60, 1)
    body = f"{settings.totp_issuer} code: {code}. Valid {minutes} min. Never share it."

    async def deliver() -> None:
        try:
            await sender.send(phone, body)
        except SmsDeliveryFailed:  # committed already: the user can ask for another code
            log.warning("SMS to %s not delivered", mask_phone(phone), exc_info=True)

    uow.after_commit(deliver)
    return SmsCodeIssued(expires_at, mask_phone(phone))


async def _check_resend_interval(
    conn: AsyncConnection, user_id: uuid.UUID, settings: Settings
) -> None:
    recent = (
        await conn.execute(
            select(func.max(sms_codes.c.created_at)).where(
                sms_codes.c.user_id == user_id,
                sms_codes.c.created_at
                > func.now() - timedelta(seconds=settings.sms_resend_interval_seconds),
            )
        )
    ).scalar_one()
    if recent is not None:
        raise LimitExceeded(
            f"an SMS code was sent less than {settings.sms_resend_interval_seconds} s ago"
        )


async def consume_code(conn: AsyncConnection, user_id: uuid.UUID, purpose: str, code: str) -> str:
    """Uses the user's newest code of this purpose; returns the phone it was sent to.

    Raises InvalidSecondFactor: malformed, wrong, expired, used, or out of attempts.
    """
    if not is_well_formed(code):
        raise InvalidSecondFactor("an SMS code is 6 digits")
    newest = (
        select(func.max(sms_codes.c.id))
        .where(sms_codes.c.user_id == user_id, sms_codes.c.purpose == purpose)
        .scalar_subquery()
    )
    # The attempt is counted in its own committed transaction before the code is checked:
    # the command fails (and rolls back) on a wrong code, and parallel guesses each use one.
    async with conn.engine.begin() as own:
        row = (
            await own.execute(
                update(sms_codes)
                .where(
                    sms_codes.c.id == newest,
                    sms_codes.c.used_at.is_(None),
                    sms_codes.c.expires_at > func.now(),
                    sms_codes.c.attempts < MAX_ATTEMPTS,
                )
                .values(attempts=sms_codes.c.attempts + 1)
                .returning(sms_codes.c.id, sms_codes.c.code_hash, sms_codes.c.phone)
            )
        ).first()
    if row is None:
        raise InvalidSecondFactor(
            "no usable SMS code (expired, used, or too many wrong tries): request a new one"
        )
    if not await verify_password(row.code_hash, code):
        raise InvalidSecondFactor("the SMS code is wrong")
    used = await conn.execute(
        update(sms_codes)
        .where(sms_codes.c.id == row.id, sms_codes.c.used_at.is_(None))
        .values(used_at=func.now())
        .returning(sms_codes.c.id)
    )
    if used.first() is None:
        raise InvalidSecondFactor("this SMS code was already used")
    phone: str = row.phone
    return phone
