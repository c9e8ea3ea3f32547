"""TOTP enrolment: begin (a new secret and its provisioning URI), then confirm with a first
valid code, which enables TOTP and issues the recovery codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from backend.db.tables import users
from backend.db.two_factor_tables import totp_credentials
from backend.domain.errors import AlreadyExists, InvalidInput, NotFound
from backend.security import totp
from backend.security.envelope import envelope_for
from backend.settings import Settings
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.accounts.two_factor.factors import (
    check_totp,
    open_secret,
    replace_recovery_codes,
    totp_context,
)
from commands.accounts.two_factor.records import lock_withdrawals, record_change
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BeginTotpEnrolment:
    user_id: uuid.UUID
    settings: Settings = field(repr=False)


@dataclass(frozen=True)
class TotpEnrolmentStarted:
    secret: str
    provisioning_uri: str


async def begin_totp_enrolment(cmd: BeginTotpEnrolment, uow: UnitOfWork) -> TotpEnrolmentStarted:
    """A pending enrolment replaces an earlier pending one; an enabled TOTP must be disabled
    first (with a second factor), so a stolen session cannot swap the authenticator."""
    conn = uow.conn
    email = (
        await conn.execute(select(users.c.email).where(users.c.id == cmd.user_id))
    ).scalar_one()
    confirmed = (
        await conn.execute(
            select(totp_credentials.c.confirmed_at)
            .where(totp_credentials.c.user_id == cmd.user_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if confirmed is not None:
        raise AlreadyExists("TOTP is already enabled; disable it first")
    secret = totp.new_secret()
    sealed = envelope_for(cmd.settings).seal(secret.encode(), totp_context(cmd.user_id))
    stmt = insert(totp_credentials).values(user_id=cmd.user_id, secret_sealed=sealed)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[totp_credentials.c.user_id],
            set_={"secret_sealed": sealed, "last_step": None, "created_at": func.now()},
        )
    )
    await record_change(conn, cmd.user_id, "account.totp_enrolment_started", "2fa.totp.begin", {})
    return TotpEnrolmentStarted(
        secret, totp.provisioning_uri(secret, email, cmd.settings.totp_issuer)
    )


@dataclass(frozen=True)
class ConfirmTotpEnrolment:
    user_id: uuid.UUID
    code: str
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


@dataclass(frozen=True)
class RecoveryCodesIssued:
    codes: list[str]
    withdrawals_locked_until: datetime


async def confirm_totp_enrolment(cmd: ConfirmTotpEnrolment, uow: UnitOfWork) -> RecoveryCodesIssued:
    """The first valid code enables TOTP (its step counts as used). A factor enabled before
    (SMS) must approve the new one."""
    conn = uow.conn
    if not totp.is_well_formed(cmd.code.strip()):
        raise InvalidInput("code", "the code is the 6 digits the authenticator app shows")
    row = (
        await conn.execute(
            select(totp_credentials.c.secret_sealed, totp_credentials.c.confirmed_at)
            .where(totp_credentials.c.user_id == cmd.user_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("no TOTP enrolment in progress: begin one first")
    if row.confirmed_at is not None:
        raise AlreadyExists("TOTP is already enabled")
    step = check_totp(
        open_secret(row.secret_sealed, cmd.user_id, cmd.settings), cmd.code.strip(), None
    )
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    await conn.execute(
        update(totp_credentials)
        .where(totp_credentials.c.user_id == cmd.user_id)
        .values(confirmed_at=func.now(), last_step=step)
    )
    codes = await replace_recovery_codes(conn, cmd.user_id)
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.totp_enabled",
        "2fa.totp.enable",
        {"recovery_codes": len(codes), "withdrawals_locked_until": locked_until.isoformat()},
    )
    return RecoveryCodesIssued(codes, locked_until)
