"""Disabling TOTP and regenerating recovery codes: sensitive, so each needs a second factor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import recovery_codes, totp_credentials
from backend.domain.errors import NotFound
from backend.settings import Settings
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.accounts.two_factor.factors import replace_recovery_codes
from commands.accounts.two_factor.records import lock_withdrawals, record_change
from commands.accounts.two_factor.totp_enrolment import RecoveryCodesIssued
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class DisableTotp:
    user_id: uuid.UUID
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


async def _require_totp_enabled(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    enabled = (
        await conn.execute(
            select(totp_credentials.c.user_id).where(
                totp_credentials.c.user_id == user_id,
                totp_credentials.c.confirmed_at.is_not(None),
            )
        )
    ).first()
    if enabled is None:
        raise NotFound("TOTP is not enabled for this account")


async def disable_totp(cmd: DisableTotp, uow: UnitOfWork) -> datetime:
    """Removes the secret and every recovery code; returns the new withdrawal lock."""
    conn = uow.conn
    await _require_totp_enabled(conn, cmd.user_id)
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    await conn.execute(delete(totp_credentials).where(totp_credentials.c.user_id == cmd.user_id))
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == cmd.user_id))
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.totp_disabled",
        "2fa.totp.disable",
        {"withdrawals_locked_until": locked_until.isoformat()},
    )
    return locked_until


@dataclass(frozen=True)
class RegenerateRecoveryCodes:
    user_id: uuid.UUID
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


async def regenerate_recovery_codes(
    cmd: RegenerateRecoveryCodes, uow: UnitOfWork
) -> RecoveryCodesIssued:
    conn = uow.conn
    await _require_totp_enabled(conn, cmd.user_id)
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    codes = await replace_recovery_codes(conn, cmd.user_id)
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.recovery_codes_generated",
        "2fa.recovery_codes.regenerate",
        {"recovery_codes": len(codes), "withdrawals_locked_until": locked_until.isoformat()},
    )
    return RecoveryCodesIssued(codes, locked_until)
