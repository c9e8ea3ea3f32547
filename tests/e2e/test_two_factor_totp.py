"""TOTP two-factor authentication through the real server: enrolment, RFC 6238 login,
replays, recovery codes, disabling and regenerating, and every bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.tables import audit_log, events
from backend.db.two_factor_tables import totp_credentials
from backend.settings import Settings
from tests.e2e.two_factor_helpers import (
    a_user,
    enable_totp,
    forget_login_failures,
    login,
    security_state,
)
from tests.graphql_client import GraphQLClient


def _near(value: str, expected: datetime, slack: timedelta = timedelta(minutes=2)) -> bool:
    return abs(datetime.fromisoformat(value) - expected) < slack


async def test_enrol_and_confirm(client: GraphQLClient, engine: AsyncEngine) -> None:
    # given
    user = await a_user(client)
    # when
    begun = await client.run("accounts/begin_totp_enrolment", token=user.token)
    pending = await client.run("accounts/security", token=user.token)
    enrolment = begun["beginTotpEnrolment"]
    totp = pyotp.parse_uri(enrolment["provisioningUri"])
    confirmed = await client.run(
        "accounts/confirm_totp_enrolment", {"input": {"code": totp.now()}}, token=user.token
    )
    # then
    assert enrolment["__typename"] == "TotpEnrolment"
    assert enrolment["provisioningUri"].startswith("otpauth://totp/Exchange:")
    assert isinstance(totp, pyotp.TOTP)
    assert (totp.name, totp.issuer, totp.secret) == (user.email, "Exchange", enrolment["secret"])
    assert pending["me"]["security"]["totpPending"] is True
    assert pending["me"]["security"]["twoFactorMethods"] == []
    result = confirmed["confirmTotpEnrolment"]
    assert result["__typename"] == "RecoveryCodes"
    assert len(set(result["codes"])) == 10
    assert result["security"]["twoFactorMethods"] == ["TOTP", "RECOVERY_CODE"]
    assert result["security"]["recoveryCodesLeft"] == 10
    assert _near(result["security"]["withdrawalsLockedUntil"], datetime.now(UTC) + timedelta(1))
    async with engine.connect() as conn:
        sealed = (
            await conn.execute(
                select(totp_credentials.c.secret_sealed).where(
                    totp_credentials.c.user_id == uuid.UUID(user.id)
                )
            )
        ).scalar_one()
    assert sealed.startswith("v1.")
    assert enrolment["secret"] not in sealed


async def test_enrolment_is_audited_and_evented(client: GraphQLClient, engine: AsyncEngine) -> None:
    # given
    user = await a_user(client)
    # when
    await enable_totp(client, user)
    # then
    async with engine.connect() as conn:
        audits = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor_id)
                .where(audit_log.c.target == f"user:{user.id}")
                .where(audit_log.c.action.startswith("2fa."))  # logins are audited too
                .order_by(audit_log.c.id)
            )
        ).all()
        kinds = (
            await conn.execute(
                select(events.c.event_type)
                .where(events.c.stream == f"user:{user.id}")
                .order_by(events.c.position)
            )
        ).scalars()
        event_types = list(kinds)
    assert [(a.action, str(a.actor_id)) for a in audits] == [
        ("2fa.totp.begin", user.id),
        ("2fa.totp.enable", user.id),
    ]
    assert event_types[-2:] == ["account.totp_enrolment_started", "account.totp_enabled"]


async def test_login_needs_the_code_then_accepts_the_next_step(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    before = await security_state(engine, user.id)
    # when
    without = await login(client, user.email)
    after_without = await security_state(engine, user.id)
    wrong_password = await login(client, user.email, "wrong-password-1")
    with_code = await login(client, user.email, second_factor={"totp": totp.code(1)})
    # then
    assert without["__typename"] == "SecondFactorRequiredError"
    assert without["code"] == "SECOND_FACTOR_REQUIRED"
    assert without["methods"] == ["TOTP", "RECOVERY_CODE"]
    assert after_without == before  # no session was created
    assert wrong_password["__typename"] == "InvalidCredentialsError"  # 2FA status not revealed
    assert with_code["__typename"] == "Session"
    me = await client.run("accounts/me", token=with_code["token"])
    assert me["me"]["id"] == user.id


async def test_replayed_and_earlier_codes_are_refused(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given a login with the next step's code
    user = await a_user(client)
    totp = await enable_totp(client, user)
    first = await login(client, user.email, second_factor={"totp": totp.code(1)})
    assert first["__typename"] == "Session"
    before = await security_state(engine, user.id)
    # when
    replayed = await login(client, user.email, second_factor={"totp": totp.code(1)})
    confirming = await login(client, user.email, second_factor={"totp": totp.code(0)})
    # then
    for refused in (replayed, confirming):
        assert refused["__typename"] == "InvalidSecondFactorError"
        assert refused["code"] == "INVALID_SECOND_FACTOR"
    assert "already used" in replayed["message"]
    assert await security_state(engine, user.id) == before


async def test_codes_outside_the_drift_window_are_refused(client: GraphQLClient) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    # when
    far_future = await login(client, user.email, second_factor={"totp": totp.code(5)})
    # then
    assert far_future["__typename"] == "InvalidSecondFactorError"
    assert "wrong" in far_future["message"]


async def test_recovery_code_works_once(client: GraphQLClient, engine: AsyncEngine) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    code = totp.recovery_codes[3]
    # when
    first = await login(client, user.email, second_factor={"recoveryCode": code.upper()})
    second = await login(client, user.email, second_factor={"recoveryCode": code})
    security = await client.run("accounts/security", token=user.token)
    # then
    assert first["__typename"] == "Session"
    assert second["__typename"] == "InvalidSecondFactorError"
    assert security["me"]["security"]["recoveryCodesLeft"] == 9
    async with engine.connect() as conn:
        used = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.after).where(
                    audit_log.c.target == f"user:{user.id}",
                    audit_log.c.action == "2fa.recovery_code.use",
                )
            )
        ).all()
    assert [(u.action, u.after) for u in used] == [("2fa.recovery_code.use", {"codes_left": 9})]


async def test_begin_again_when_enabled_is_refused(client: GraphQLClient) -> None:
    # given
    user = await a_user(client)
    await enable_totp(client, user)
    # when
    again = await client.run("accounts/begin_totp_enrolment", token=user.token)
    # then
    assert again["beginTotpEnrolment"]["__typename"] == "AlreadyExistsError"


async def test_disable_needs_a_second_factor(client: GraphQLClient, engine: AsyncEngine) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    before = await security_state(engine, user.id)
    # when
    refused = await client.run("accounts/disable_totp", token=user.token)
    after_refused = await security_state(engine, user.id)
    disabled = await client.run(
        "accounts/disable_totp", {"secondFactor": {"totp": totp.code(1)}}, token=user.token
    )
    plain_login = await login(client, user.email)
    # then
    assert refused["disableTotp"]["__typename"] == "SecondFactorRequiredError"
    assert after_refused == before
    assert disabled["disableTotp"]["__typename"] == "AccountSecurity"
    assert disabled["disableTotp"]["twoFactorMethods"] == []
    assert disabled["disableTotp"]["recoveryCodesLeft"] == 0
    assert plain_login["__typename"] == "Session"


async def test_regenerated_codes_replace_the_old_ones(client: GraphQLClient) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    # when
    regenerated = await client.run(
        "accounts/regenerate_recovery_codes",
        {"secondFactor": {"recoveryCode": totp.recovery_codes[0]}},
        token=user.token,
    )
    old = await login(client, user.email, second_factor={"recoveryCode": totp.recovery_codes[1]})
    new_codes = regenerated["regenerateRecoveryCodes"]["codes"]
    new = await login(client, user.email, second_factor={"recoveryCode": new_codes[0]})
    # then
    assert regenerated["regenerateRecoveryCodes"]["__typename"] == "RecoveryCodes"
    assert regenerated["regenerateRecoveryCodes"]["security"]["recoveryCodesLeft"] == 10
    assert old["__typename"] == "InvalidSecondFactorError"
    assert new["__typename"] == "Session"


@pytest.mark.parametrize(
    ("begin", "code", "typename", "error_code"),
    [
        (False, "123456", "NotFoundError", "NOT_FOUND"),  # enrolment not begun
        (True, "12a456", "ValidationError", "VALIDATION_ERROR"),  # malformed
        (True, "1234567", "ValidationError", "VALIDATION_ERROR"),
        (True, "wrong", "ValidationError", "VALIDATION_ERROR"),
        (True, None, "InvalidSecondFactorError", "INVALID_SECOND_FACTOR"),  # wrong code
    ],
)
async def test_confirm_bad_input_changes_nothing(
    client: GraphQLClient,
    engine: AsyncEngine,
    begin: bool,
    code: str | None,
    typename: str,
    error_code: str,
) -> None:
    # given
    user = await a_user(client)
    if begin:
        begun = await client.run("accounts/begin_totp_enrolment", token=user.token)
        totp = pyotp.parse_uri(begun["beginTotpEnrolment"]["provisioningUri"])
        code = code or f"{(int(totp.now()) + 500_000) % 10**6:06d}"
    before = await security_state(engine, user.id)
    # when
    data = await client.run(
        "accounts/confirm_totp_enrolment", {"input": {"code": code}}, token=user.token
    )
    # then
    result = data["confirmTotpEnrolment"]
    assert (result["__typename"], result["code"]) == (typename, error_code)
    if typename == "ValidationError":
        assert result["field"] == "code"
    assert await security_state(engine, user.id) == before


@pytest.mark.parametrize(
    "second_factor",
    [
        {"totp": "12a456"},
        {"totp": "1234567"},
        {"totp": "000000x"},
        {"recoveryCode": "not-a-recovery-code"},
        {"recoveryCode": "aaaa-bbbb-cccc-dddd"},
        {"smsCode": "123456"},  # SMS not enabled
    ],
)
async def test_login_with_a_bad_factor_changes_nothing(
    client: GraphQLClient, engine: AsyncEngine, second_factor: dict[str, str]
) -> None:
    # given
    user = await a_user(client)
    await enable_totp(client, user)
    before = await security_state(engine, user.id)
    # when
    result = await login(client, user.email, second_factor=second_factor)
    # then
    assert (result["__typename"], result["code"]) == (
        "InvalidSecondFactorError",
        "INVALID_SECOND_FACTOR",
    )
    assert await security_state(engine, user.id) == before


async def test_wrong_codes_in_a_row_block_the_second_factor(
    client: GraphQLClient, settings: Settings
) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    wrong = f"{(int(totp.code(1)) + 500_000) % 10**6:06d}"
    results: list[dict[str, Any]] = []
    # when: ten wrong codes (the login lockout, which would step in after five, is cleared)
    for _ in range(10):
        results.append(await login(client, user.email, second_factor={"totp": wrong}))
        await forget_login_failures(settings, user.email)
    right = await login(client, user.email, second_factor={"totp": totp.code(1)})
    # then
    assert {r["__typename"] for r in results} == {"InvalidSecondFactorError"}
    assert right["__typename"] == "InvalidSecondFactorError"
    assert "too many wrong codes" in right["message"]
