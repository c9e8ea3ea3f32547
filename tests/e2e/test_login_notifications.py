"""A login from a new device or network emails the user through the outbox, the worker and a
real SMTP exchange (aiosmtpd in this process), carrying the anti-phishing code."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.login_tables import email_outbox
from tests.e2e.login_helpers import client_from, login, new_email, new_loopback_ip, register
from tests.graphql_client import GraphQLClient
from tests.smtp_sink import SmtpSink

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0 Safari/537.36"
)


async def queued(engine: AsyncEngine, user_id: str) -> int:
    async with engine.connect() as conn:
        count: int = (
            await conn.execute(
                select(func.count()).where(email_outbox.c.user_id == uuid.UUID(user_id))
            )
        ).scalar_one()
    return count


async def set_code(client: GraphQLClient, token: str, code: str) -> dict[str, object]:
    data = await client.run("accounts/set_anti_phishing_code", {"code": code}, token=token)
    result: dict[str, object] = data["setAntiPhishingCode"]
    return result


async def test_new_ip_gets_an_email_with_the_anti_phishing_code(
    server: str, engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    # given: registered and first logged in from home (the baseline: no email)
    email, home, away = new_email(), new_loopback_ip(), new_loopback_ip()
    async with client_from(server, home) as client:
        user_id = await register(client, email)
        token = (await login(client, email))["token"]
        assert (await set_code(client, token, "Blue42Fox"))["antiPhishingCode"] == "Blue42Fox"
        # the same device again: still no email
        assert (await login(client, email))["__typename"] == "Session"
    # when
    async with client_from(server, away, CHROME_ON_WINDOWS) as client:
        assert (await login(client, email))["__typename"] == "Session"
    # then
    messages = await smtp_sink.wait_for(email, 1)
    assert len(messages) == 1
    body = messages[0].get_content().replace("\r\n", "\n")
    assert messages[0]["Subject"] == "New sign-in to your account"
    assert body.startswith("Anti-phishing code: Blue42Fox\n")
    assert f"IP address: {away}" in body
    assert "Device: Chrome on Windows" in body
    assert await queued(engine, user_id) == 1


async def test_known_device_again_sends_nothing(
    server: str, engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    # given
    email, ip = new_email(), new_loopback_ip()
    async with client_from(server, ip) as client:
        user_id = await register(client, email)
        # when
        for _ in range(3):
            assert (await login(client, email))["__typename"] == "Session"
    await asyncio.sleep(1)  # what the worker would have sent by now
    # then
    assert await queued(engine, user_id) == 0
    assert smtp_sink.to(email) == []


async def test_new_browser_on_a_known_ip_is_a_new_device(server: str, smtp_sink: SmtpSink) -> None:
    # given
    email, ip = new_email(), new_loopback_ip()
    async with client_from(server, ip) as client:
        await register(client, email)
        await login(client, email)
    # when
    async with client_from(server, ip, CHROME_ON_WINDOWS) as client:
        await login(client, email)
    # then
    messages = await smtp_sink.wait_for(email, 1)
    assert len(messages) == 1
    assert "Anti-phishing code: not set." in messages[0].get_content()


async def test_failed_login_from_a_new_ip_sends_nothing(server: str, engine: AsyncEngine) -> None:
    # given
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        user_id = await register(client, email)
        await login(client, email)
    # when
    async with client_from(server, new_loopback_ip()) as client:
        failed = await login(client, email, "wrong-password-1")
    # then
    assert failed["code"] == "INVALID_CREDENTIALS"
    assert await queued(engine, user_id) == 0


@pytest.mark.parametrize("code", ["abc", "a" * 21, "abc-1", "abc 12", "١٢٣٤", "ÄÖÜß", "", "abcd\n"])
async def test_bad_anti_phishing_code_changes_nothing(client: GraphQLClient, code: str) -> None:
    # given
    email = new_email()
    await register(client, email)
    token = (await login(client, email))["token"]
    assert (await set_code(client, token, "Good1234"))["__typename"] == "User"
    # when
    result = await set_code(client, token, code)
    me = await client.run("accounts/me_security", token=token)
    # then
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "VALIDATION_ERROR"
    assert result["field"] == "code"
    assert me["me"]["antiPhishingCode"] == "Good1234"


async def test_anti_phishing_code_needs_a_session(client: GraphQLClient) -> None:
    # when
    body = await client.raw('mutation { setAntiPhishingCode(code: "Good1234") { __typename } }')
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
