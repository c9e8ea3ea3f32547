"""SMS as a second factor: enrol a phone (a code sent to it, confirmed), disable it, and ask for
a code to log in or to approve a sensitive action."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.two_factor_tables import sms_phones
from backend.domain.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidSecondFactor,
    NotFound,
)
from backend.settings import Settings
from commands.accounts.credentials import check_credentials
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.accounts.two_factor import sms_codes
from commands.accounts.two_factor.records import lock_withdrawals, record_change
from commands.accounts.two_factor.sms_codes import SmsCodeIssued, issue_code
from commands.unit_of_work import UnitOfWork
from queries.account_security import mask_phone

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize_phone(phone: str) -> str:
    """E.164 (`+` and up to 15 digits); spaces, dots, dashes and brackets are dropped."""
    compact = re.sub(r"[\s().-]", "", phone)
    if not E164.match(compact):
        raise InvalidInput(
            "phone", "the phone number must be in international form, e.g. +447700900123"
        )
    return compact


async def _phone(conn: AsyncConnection, user_id: uuid.UUID, *, confirmed: bool) -> str | None:
    state = (
        sms_phones.c.confirmed_at.is_not(None) if confirmed else sms_phones.c.confirmed_at.is_(None)
    )
    phone: str | None = (
        await conn.execute(select(sms_phones.c.phone).where(sms_phones.c.user_id == user_id, state))
    ).scalar_one_or_none()
    return phone


@dataclass(frozen=True)
class BeginSmsEnrolment:
    user_id: uuid.UUID
    phone: str
    settings: Settings = field(repr=False)


async def begin_sms_enrolment(cmd: BeginSmsEnrolment, uow: UnitOfWork) -> SmsCodeIssued:
    conn = uow.conn
    phone = normalize_phone(cmd.phone)
    if await _phone(conn, cmd.user_id, confirmed=True) is not None:
        raise AlreadyExists("SMS is already enabled; disable it first")
    stmt = insert(sms_phones).values(user_id=cmd.user_id, phone=phone)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[sms_phones.c.user_id],
            set_={"phone": phone, "created_at": func.now()},
            where=sms_phones.c.confirmed_at.is_(None),
        )
    )
    issued = await issue_code(uow, cmd.user_id, "enrol", phone, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.sms_enrolment_started",
        "2fa.sms.begin",
        {"phone": issued.phone_hint},
    )
    return issued


@dataclass(frozen=True)
class ConfirmSmsEnrolment:
    user_id: uuid.UUID
    code: str
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


async def confirm_sms_enrolment(cmd: ConfirmSmsEnrolment, uow: UnitOfWork) -> datetime:
    """The code sent to the new phone enables SMS; a factor enabled before must approve it."""
    conn = uow.conn
    code = cmd.code.strip()
    if not sms_codes.is_well_formed(code):
        raise InvalidInput("code", "the code is the 6 digits of the text message")
    pending = await _phone(conn, cmd.user_id, confirmed=False)
    if pending is None:
        raise NotFound("no phone enrolment in progress: begin one first")
    if await sms_codes.consume_code(conn, cmd.user_id, "enrol", code) != pending:
        raise InvalidSecondFactor("this code was sent to another number")
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    await conn.execute(
        update(sms_phones)
        .where(sms_phones.c.user_id == cmd.user_id)
        .values(confirmed_at=func.now())
    )
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.sms_enabled",
        "2fa.sms.enable",
        {"phone": mask_phone(pending), "withdrawals_locked_until": locked_until.isoformat()},
    )
    return locked_until


@dataclass(frozen=True)
class DisableSms:
    user_id: uuid.UUID
    second_factor: SecondFactorProof | None
    settings: Settings = field(repr=False)


async def disable_sms(cmd: DisableSms, uow: UnitOfWork) -> datetime:
    conn = uow.conn
    phone = await _phone(conn, cmd.user_id, confirmed=True)
    if phone is None:
        raise NotFound("SMS is not enabled for this account")
    await require_second_factor(conn, cmd.user_id, cmd.second_factor, cmd.settings)
    await conn.execute(delete(sms_phones).where(sms_phones.c.user_id == cmd.user_id))
    locked_until = await lock_withdrawals(conn, cmd.user_id, cmd.settings)
    await record_change(
        conn,
        cmd.user_id,
        "account.sms_disabled",
        "2fa.sms.disable",
        {"phone": mask_phone(phone), "withdrawals_locked_until": locked_until.isoformat()},
    )
    return locked_until


async def _send_verify_code(
    uow: UnitOfWork, user_id: uuid.UUID, settings: Settings, reason: str
) -> SmsCodeIssued:
    phone = await _phone(uow.conn, user_id, confirmed=True)
    if phone is None:
        raise NotFound("SMS is not enabled for this account")
    issued = await issue_code(uow, user_id, "verify", phone, settings)
    await record_change(
        uow.conn,
        user_id,
        "account.sms_code_sent",
        "2fa.sms.send_code",
        {"phone": issued.phone_hint, "for": reason},
    )
    return issued


@dataclass(frozen=True)
class RequestSmsCode:
    """A code to approve a sensitive action of the signed-in user."""

    user_id: uuid.UUID
    settings: Settings = field(repr=False)


async def request_sms_code(cmd: RequestSmsCode, uow: UnitOfWork) -> SmsCodeIssued:
    return await _send_verify_code(uow, cmd.user_id, cmd.settings, "action")


@dataclass(frozen=True)
class RequestLoginSmsCode:
    """A code to log in with: the password first, so nobody else can make the phone ring."""

    email: str
    password: str = field(repr=False)
    settings: Settings = field(repr=False)


async def request_login_sms_code(cmd: RequestLoginSmsCode, uow: UnitOfWork) -> SmsCodeIssued:
    user_id = await check_credentials(uow.conn, cmd.email, cmd.password)
    return await _send_verify_code(uow, user_id, cmd.settings, "login")
