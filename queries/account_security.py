"""An account's second factors and withdrawal lock (read by `me`, the 2FA check and the wallet)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import (
    recovery_codes,
    sms_phones,
    totp_credentials,
    user_security,
)


@dataclass(frozen=True)
class AccountSecurityView:
    methods: tuple[str, ...]
    recovery_codes_left: int
    totp_pending: bool
    phone_hint: str | None
    withdrawals_locked_until: datetime | None


def mask_phone(phone: str) -> str:
    """`+44*******89`: enough to recognise one's own number, not enough to learn it."""
    return phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:]


async def two_factor_methods(conn: AsyncConnection, user_id: uuid.UUID) -> tuple[str, ...]:
    """The factors the user has enabled, in the order clients should offer them."""
    totp = exists().where(
        totp_credentials.c.user_id == user_id, totp_credentials.c.confirmed_at.is_not(None)
    )
    codes = exists().where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
    sms = exists().where(sms_phones.c.user_id == user_id, sms_phones.c.confirmed_at.is_not(None))
    row = (await conn.execute(select(totp, codes, sms))).one()
    names = ("TOTP", "RECOVERY_CODE", "SMS")
    return tuple(name for name, enabled in zip(names, row, strict=True) if enabled)


async def withdrawals_locked_until(conn: AsyncConnection, user_id: uuid.UUID) -> datetime | None:
    """Until when withdrawals are refused after a password or 2FA change; None if they are not."""
    until: datetime | None = (
        await conn.execute(
            select(user_security.c.withdrawals_locked_until).where(
                user_security.c.user_id == user_id,
                user_security.c.withdrawals_locked_until > func.now(),
            )
        )
    ).scalar_one_or_none()
    return until


async def get_account_security(conn: AsyncConnection, user_id: uuid.UUID) -> AccountSecurityView:
    methods = await two_factor_methods(conn, user_id)
    left = (
        await conn.execute(
            select(func.count()).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
            )
        )
    ).scalar_one()
    pending = (
        await conn.execute(
            select(
                exists().where(
                    totp_credentials.c.user_id == user_id,
                    totp_credentials.c.confirmed_at.is_(None),
                )
            )
        )
    ).scalar_one()
    phone = (
        await conn.execute(select(sms_phones.c.phone).where(sms_phones.c.user_id == user_id))
    ).scalar_one_or_none()
    return AccountSecurityView(
        methods=methods,
        recovery_codes_left=left,
        totp_pending=bool(pending),
        phone_hint=mask_phone(phone) if phone else None,
        withdrawals_locked_until=await withdrawals_locked_until(conn, user_id),
    )
