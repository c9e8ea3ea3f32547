"""Checking a TOTP code or a recovery code against the stored credentials, and issuing codes."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import recovery_codes, totp_credentials
from backend.domain.errors import InvalidSecondFactor
from backend.security import recovery_codes as codes
from backend.security import totp
from backend.security.envelope import envelope_for
from backend.settings import Settings
from commands.accounts.two_factor.records import record_change


def totp_context(user_id: uuid.UUID) -> str:
    """Binds a sealed secret to its owner: copied to another user's row, it does not open."""
    return f"totp:{user_id}"


def open_secret(sealed: str, user_id: uuid.UUID, settings: Settings) -> str:
    return envelope_for(settings).open(sealed, totp_context(user_id)).decode()


def check_totp(secret: str, code: str, last_step: int | None) -> int:
    """The accepted time step. Raises InvalidSecondFactor (malformed, wrong, reused)."""
    if not totp.is_well_formed(code):
        raise InvalidSecondFactor("a TOTP code is 6 digits")
    step = totp.accepted_step(secret, code, time.time(), last_step)
    if isinstance(step, totp.TotpRejection):
        raise InvalidSecondFactor(step.value)
    return step


async def verify_totp(
    conn: AsyncConnection, user_id: uuid.UUID, code: str, settings: Settings
) -> None:
    """Accepts a code of a step after the last accepted one and remembers its step."""
    # FOR UPDATE: two requests with the same code queue here; the second sees the new step.
    row = (
        await conn.execute(
            select(totp_credentials.c.secret_sealed, totp_credentials.c.last_step)
            .where(
                totp_credentials.c.user_id == user_id,
                totp_credentials.c.confirmed_at.is_not(None),
            )
            .with_for_update()
        )
    ).first()
    if row is None:
        raise InvalidSecondFactor("TOTP is not enabled for this account")
    step = check_totp(open_secret(row.secret_sealed, user_id, settings), code, row.last_step)
    await conn.execute(
        update(totp_credentials).where(totp_credentials.c.user_id == user_id).values(last_step=step)
    )


async def use_recovery_code(conn: AsyncConnection, user_id: uuid.UUID, code: str) -> None:
    normalized = codes.normalize(code)
    if normalized is None:
        raise InvalidSecondFactor("a recovery code looks like xxxx-xxxx-xxxx-xxxx")
    used = await conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == codes.digest(normalized),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=func.now())
        .returning(recovery_codes.c.id)
    )
    if used.first() is None:
        raise InvalidSecondFactor("the recovery code is wrong or was already used")
    left = (
        await conn.execute(
            select(func.count()).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
            )
        )
    ).scalar_one()
    await record_change(
        conn, user_id, "account.recovery_code_used", "2fa.recovery_code.use", {"codes_left": left}
    )


async def replace_recovery_codes(conn: AsyncConnection, user_id: uuid.UUID) -> list[str]:
    """A fresh set; every earlier code stops working. The plain codes are returned once."""
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    fresh = codes.new_codes()
    await conn.execute(
        recovery_codes.insert(),
        [
            {"user_id": user_id, "code_hash": codes.digest(codes.normalize(code) or "")}
            for code in fresh
        ],
    )
    return fresh
