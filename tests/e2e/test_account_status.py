"""adminSetAccountStatus: frozen accounts cannot trade (or withdraw), locked ones cannot log in
and their sessions stop at once; audited with before/after and reason; bad input changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.tables import audit_log, events
from backend.domain.errors import AccountUnavailable
from commands.accounts.account_status import ensure_can_withdraw
from tests.e2e.login_helpers import login, new_email, register
from tests.e2e.spot_helpers import limit, new_market, new_trader
from tests.graphql_client import GraphQLClient, operation


async def set_status(
    client: GraphQLClient, admin_token: str, user_id: str, status: str, reason: str = "KYC review"
) -> dict[str, Any]:
    data = await client.run(
        "admin/set_account_status",
        {"input": {"userId": user_id, "status": status, "reason": reason}},
        token=admin_token,
    )
    result: dict[str, Any] = data["adminSetAccountStatus"]
    return result


async def status_of(client: GraphQLClient, admin_token: str, user_id: str) -> str:
    data = await client.run("admin/user", {"id": user_id}, token=admin_token)
    status: str = data["adminUser"]["status"]
    return status


async def audit_rows(engine: AsyncEngine, user_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(audit_log)
                .where(
                    audit_log.c.target == f"user:{user_id}",
                    audit_log.c.action == "account.status_set",
                )
                .order_by(audit_log.c.id)
            )
        )


async def status_events(engine: AsyncEngine, user_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(events.c.data)
            .where(
                events.c.stream == f"user:{user_id}",
                events.c.event_type == "account.status_changed",
            )
            .order_by(events.c.position)
        )
        return [r.data for r in rows]


async def test_frozen_account_cannot_trade_until_reactivated(
    client: GraphQLClient, admin_token: str, engine: AsyncEngine
) -> None:
    # given
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market, fresh=True)
    # when
    frozen = await set_status(client, admin_token, trader.user_id, "FROZEN")
    refused = await limit(client, trader, market, "BUY", "10", "1")
    still_in = await client.run("accounts/me", token=trader.token)
    async with engine.connect() as conn:
        try:
            await ensure_can_withdraw(conn, uuid.UUID(trader.user_id))
            withdrawal_refused = False
        except AccountUnavailable:
            withdrawal_refused = True
    await set_status(client, admin_token, trader.user_id, "ACTIVE", "review passed")
    accepted = await limit(client, trader, market, "BUY", "10", "1")
    # then
    assert frozen["__typename"] == "AccountStatusChange"
    assert frozen["user"]["status"] == "frozen"
    assert frozen["previousStatus"] == "ACTIVE"
    assert refused["__typename"] == "AccountUnavailableError"
    assert refused["code"] == "ACCOUNT_UNAVAILABLE"
    assert still_in["me"]["status"] == "frozen"
    assert withdrawal_refused
    assert accepted["__typename"] == "Order"
    rows = await audit_rows(engine, trader.user_id)
    assert [(r.before, r.after["status"], r.reason) for r in rows] == [
        ({"status": "active"}, "frozen", "KYC review"),
        ({"status": "frozen"}, "active", "review passed"),
    ]
    assert all(str(r.actor_id) != trader.user_id and r.actor_id is not None for r in rows)
    assert [(e["before"], e["after"]) for e in await status_events(engine, trader.user_id)] == [
        ("active", "frozen"),
        ("frozen", "active"),
    ]


async def test_locked_account_sessions_stop_at_once_and_login_is_refused(
    client: GraphQLClient, admin_token: str
) -> None:
    # given
    email = new_email()
    user_id = await register(client, email)
    tokens = [(await login(client, email))["token"] for _ in range(2)]
    # when
    locked = await set_status(client, admin_token, user_id, "LOCKED", "fraud report")
    after = [await client.raw(operation("accounts/me"), token=t) for t in tokens]
    relogin = await login(client, email)
    # then
    assert locked["revokedSessions"] == 2
    assert locked["user"]["status"] == "locked"
    assert [b["errors"][0]["extensions"]["code"] for b in after] == ["UNAUTHENTICATED"] * 2
    assert relogin["__typename"] == "AccountUnavailableError"
    assert await status_of(client, admin_token, user_id) == "locked"
    # and unlocking lets the user in again (old sessions stay revoked)
    await set_status(client, admin_token, user_id, "ACTIVE", "cleared")
    assert (await login(client, email))["__typename"] == "Session"
    assert "errors" in await client.raw(operation("accounts/me"), token=tokens[0])


async def test_same_status_again_changes_nothing(
    client: GraphQLClient, admin_token: str, engine: AsyncEngine
) -> None:
    # given
    user_id = await register(client, new_email())
    # when
    result = await set_status(client, admin_token, user_id, "ACTIVE")
    # then
    assert result["previousStatus"] == "ACTIVE"
    assert await audit_rows(engine, user_id) == []


async def test_bad_input_is_typed_and_changes_nothing(
    client: GraphQLClient, admin_token: str, engine: AsyncEngine
) -> None:
    # given
    user_id = await register(client, new_email())
    admin_id = (await client.run("accounts/me", token=admin_token))["me"]["id"]
    # when
    unknown = await set_status(client, admin_token, str(uuid.uuid4()), "FROZEN")
    malformed = await set_status(client, admin_token, "not-a-user", "FROZEN")
    no_reason = await set_status(client, admin_token, user_id, "FROZEN", "  ")
    long_reason = await set_status(client, admin_token, user_id, "FROZEN", "x" * 501)
    itself = await set_status(client, admin_token, admin_id, "LOCKED")
    bad_status = await client.raw(
        operation("admin/set_account_status"),
        {"input": {"userId": user_id, "status": "BANNED", "reason": "because"}},
        token=admin_token,
    )
    # then
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "NOT_FOUND")
    assert (malformed["__typename"], malformed["field"]) == ("ValidationError", "userId")
    assert (no_reason["__typename"], no_reason["field"]) == ("ValidationError", "reason")
    assert (long_reason["__typename"], long_reason["field"]) == ("ValidationError", "reason")
    assert (itself["__typename"], itself["field"]) == ("ValidationError", "userId")
    assert bad_status["data"] is None
    assert "BANNED" in bad_status["errors"][0]["message"]
    assert await status_of(client, admin_token, user_id) == "active"
    assert await status_of(client, admin_token, admin_id) == "active"
    assert await audit_rows(engine, user_id) == []


async def test_only_admins_set_status(client: GraphQLClient) -> None:
    # given
    email = new_email()
    user_id = await register(client, email)
    token = (await login(client, email))["token"]
    variables = {"input": {"userId": user_id, "status": "ACTIVE", "reason": "self-service"}}
    # when
    as_user = await client.raw(operation("admin/set_account_status"), variables, token=token)
    anonymous = await client.raw(operation("admin/set_account_status"), variables)
    lookup = await client.raw(operation("admin/user"), {"id": user_id}, token=token)
    # then
    assert as_user["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert lookup["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_admin_never_sees_a_users_anti_phishing_code(
    client: GraphQLClient, admin_token: str
) -> None:
    # given
    email = new_email()
    user_id = await register(client, email)
    token = (await login(client, email))["token"]
    await client.run("accounts/set_anti_phishing_code", {"code": "Secret99"}, token=token)
    # when
    seen = await client.run("admin/user", {"id": user_id}, token=admin_token)
    # then
    assert seen["adminUser"]["antiPhishingCode"] is None
