"""Helpers for the two-factor tests: users, TOTP enrolment, and a snapshot of everything a
security mutation could change (to prove that a refused one changed nothing)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyotp
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.tables import audit_log, events, sessions, users
from backend.db.two_factor_tables import (
    recovery_codes,
    sms_codes,
    sms_phones,
    totp_credentials,
    user_security,
)
from backend.security.login_guard import email_key
from backend.settings import Settings
from tests.graphql_client import GraphQLClient

PASSWORD = "correct-horse-9"


@dataclass(frozen=True)
class AUser:
    id: str
    email: str
    token: str
    password: str = PASSWORD


async def a_user(client: GraphQLClient) -> AUser:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    data = await client.run("accounts/register", {"input": {"email": email, "password": PASSWORD}})
    assert data["register"]["__typename"] == "RegisterSuccess", data
    session = await login(client, email)
    assert session["__typename"] == "Session", session
    return AUser(data["register"]["user"]["id"], email, session["token"])


async def login(
    client: GraphQLClient,
    email: str,
    password: str = PASSWORD,
    second_factor: dict[str, str] | None = None,
) -> dict[str, Any]:
    variables: dict[str, Any] = {"email": email, "password": password}
    if second_factor is not None:
        variables["secondFactor"] = second_factor
    data = await client.run("accounts/login", {"input": variables})
    result: dict[str, Any] = data["login"]
    return result


@dataclass(frozen=True)
class EnabledTotp:
    totp: pyotp.TOTP
    recovery_codes: list[str]
    confirmed_at: float  # the time whose code confirmed the enrolment (its step is used)

    def code(self, steps_later: int) -> str:
        """The code `steps_later` 30-second steps after the confirming one."""
        return self.totp.at(self.confirmed_at + 30 * steps_later)


async def enable_totp(client: GraphQLClient, user: AUser) -> EnabledTotp:
    begun = await client.run("accounts/begin_totp_enrolment", token=user.token)
    totp = pyotp.parse_uri(begun["beginTotpEnrolment"]["provisioningUri"])
    assert isinstance(totp, pyotp.TOTP)
    at = totp.timecode(time.time()) * 30.0
    confirmed = await client.run(
        "accounts/confirm_totp_enrolment", {"input": {"code": totp.at(at)}}, token=user.token
    )
    result = confirmed["confirmTotpEnrolment"]
    assert result["__typename"] == "RecoveryCodes", result
    return EnabledTotp(totp, result["codes"], at)


async def security_state(engine: AsyncEngine, user_id: str) -> dict[str, Any]:
    """Everything a 2FA or password mutation may change for this user (not the failure
    counters, which a wrong code is meant to change)."""
    uid = uuid.UUID(user_id)
    async with engine.connect() as conn:

        async def rows(query: Any) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in await conn.execute(query)]

        return {
            "password": await rows(select(users.c.password_hash).where(users.c.id == uid)),
            "sessions": await rows(
                select(sessions.c.id, sessions.c.revoked_at)
                .where(sessions.c.user_id == uid)
                .order_by(sessions.c.id)
            ),
            "totp": await rows(
                select(
                    totp_credentials.c.secret_sealed,
                    totp_credentials.c.confirmed_at,
                    totp_credentials.c.last_step,
                ).where(totp_credentials.c.user_id == uid)
            ),
            "recovery_codes": await rows(
                select(recovery_codes.c.code_hash, recovery_codes.c.used_at)
                .where(recovery_codes.c.user_id == uid)
                .order_by(recovery_codes.c.id)
            ),
            "phone": await rows(
                select(sms_phones.c.phone, sms_phones.c.confirmed_at).where(
                    sms_phones.c.user_id == uid
                )
            ),
            "sms_codes_used": await rows(
                select(sms_codes.c.id, sms_codes.c.used_at)
                .where(sms_codes.c.user_id == uid)
                .order_by(sms_codes.c.id)
            ),
            "withdrawal_lock": await rows(
                select(user_security.c.withdrawals_locked_until).where(
                    user_security.c.user_id == uid
                )
            ),
            "events": await rows(
                select(func.count()).select_from(events).where(events.c.stream == f"user:{uid}")
            ),
            "audit": await rows(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.target == f"user:{uid}")
            ),
        }


async def forget_login_failures(settings: Settings, email: str) -> None:
    """Clear the login lockout's counters of this account, so a test of the second factor's own
    limits is not cut short by the (stricter) lockout of wrong logins."""
    redis = aioredis.from_url(settings.redis_url)
    try:
        prefix = f"{settings.queue_namespace}:login:account:{email_key(email)}:"
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
