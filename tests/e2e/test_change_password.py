"""changePassword through the real server: other sessions revoked, withdrawals locked, a second
factor when 2FA is on, and every bad input refused without a change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.tables import audit_log
from queries.account_security import withdrawals_locked_until
from tests.e2e.two_factor_helpers import PASSWORD, a_user, enable_totp, login, security_state
from tests.graphql_client import GraphQLClient, operation

NEW_PASSWORD = "battery-staple-7"


def _input(current: str = PASSWORD, new: str = NEW_PASSWORD, **extra: Any) -> dict[str, Any]:
    return {"input": {"currentPassword": current, "newPassword": new, **extra}}


async def test_revokes_the_other_sessions_and_locks_withdrawals(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given two sessions
    user = await a_user(client)
    other = await login(client, user.email)
    # when
    data = await client.run("accounts/change_password", _input(), token=user.token)
    # then
    changed = data["changePassword"]
    assert changed["__typename"] == "PasswordChange"
    assert changed["revokedSessions"] == 1
    locked = datetime.fromisoformat(changed["security"]["withdrawalsLockedUntil"])
    assert abs(locked - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=2)
    revoked = await client.raw(operation("accounts/me"), token=other["token"])
    assert revoked["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    still = await client.run("accounts/me", token=user.token)
    assert still["me"]["id"] == user.id
    assert (await login(client, user.email, NEW_PASSWORD))["__typename"] == "Session"
    assert (await login(client, user.email))["__typename"] == "InvalidCredentialsError"
    async with engine.connect() as conn:
        assert await withdrawals_locked_until(conn, uuid.UUID(user.id)) == locked


async def test_is_audited_without_the_password(client: GraphQLClient, engine: AsyncEngine) -> None:
    # given
    user = await a_user(client)
    # when
    await client.run("accounts/change_password", _input(), token=user.token)
    # then
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(audit_log.c.actor_id, audit_log.c.after).where(
                    audit_log.c.target == f"user:{user.id}",
                    audit_log.c.action == "account.password_change",
                )
            )
        ).one()
    assert str(row.actor_id) == user.id
    assert row.after["revoked_sessions"] == 0
    assert PASSWORD not in str(row.after) and NEW_PASSWORD not in str(row.after)


async def test_needs_the_second_factor_when_enabled(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(client)
    totp = await enable_totp(client, user)
    before = await security_state(engine, user.id)
    # when
    without = await client.run("accounts/change_password", _input(), token=user.token)
    after_without = await security_state(engine, user.id)
    wrong = await client.run(
        "accounts/change_password", _input(secondFactor={"totp": "000000"}), token=user.token
    )
    after_wrong = await security_state(engine, user.id)
    with_code = await client.run(
        "accounts/change_password", _input(secondFactor={"totp": totp.code(1)}), token=user.token
    )
    # then
    assert without["changePassword"]["__typename"] == "SecondFactorRequiredError"
    assert without["changePassword"]["methods"] == ["TOTP", "RECOVERY_CODE"]
    assert wrong["changePassword"]["__typename"] == "InvalidSecondFactorError"
    assert before == after_without == after_wrong
    assert with_code["changePassword"]["__typename"] == "PasswordChange"


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("wrong-password-1", NEW_PASSWORD, "currentPassword"),
        ("", NEW_PASSWORD, "currentPassword"),
        (PASSWORD, "short", "newPassword"),
        (PASSWORD, "p" * 129, "newPassword"),
        (PASSWORD, PASSWORD, "newPassword"),
    ],
)
async def test_bad_input_changes_nothing(
    client: GraphQLClient, engine: AsyncEngine, current: str, new: str, field: str
) -> None:
    # given
    user = await a_user(client)
    await login(client, user.email)  # another session, which must survive
    before = await security_state(engine, user.id)
    # when
    data = await client.run("accounts/change_password", _input(current, new), token=user.token)
    # then
    result = data["changePassword"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await security_state(engine, user.id) == before


async def test_needs_authentication(client: GraphQLClient) -> None:
    # when
    body = await client.raw(operation("accounts/change_password"), _input())
    # then
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
