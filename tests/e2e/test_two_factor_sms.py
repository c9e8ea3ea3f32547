"""SMS as a second factor through the real server, whose Twilio provider talks to a local fake
of Twilio's HTTP API: phone enrolment, login and sensitive actions by SMS code, expiry,
single use, attempt limits, throttling, and every bad input."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from tests.e2e.own_server import api_server
from tests.e2e.two_factor_helpers import (
    AUser,
    a_user,
    enable_totp,
    forget_login_failures,
    login,
    security_state,
)
from tests.fake_twilio import FakeTwilio, running_fake_twilio
from tests.graphql_client import GraphQLClient


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def sms_server(
    settings: Settings, fake_twilio: FakeTwilio, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An API process whose SMS provider is `twilio`, pointed at the fake."""
    with api_server(settings, tmp_path_factory.mktemp("sms-server"), **fake_twilio.env()) as base:
        yield base


@pytest.fixture
async def sms_client(sms_server: str, engine: AsyncEngine) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=sms_server, timeout=30) as http:
        yield GraphQLClient(http)


def a_phone() -> str:
    return "+4477009" + f"{uuid.uuid4().int % 10**5:05d}"


def code_in(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


async def age_sms_codes(engine: AsyncEngine, user_id: str, seconds: int) -> None:
    """Moves the user's SMS codes into the past (instead of sleeping through the resend wait)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE sms_codes SET created_at = created_at - make_interval(secs => :s),"
                " expires_at = expires_at - make_interval(secs => :s) WHERE user_id = :u"
            ),
            {"s": seconds, "u": uuid.UUID(user_id)},
        )


async def enable_sms(
    client: GraphQLClient, fake: FakeTwilio, user: AUser, **confirm: Any
) -> tuple[str, dict[str, Any]]:
    phone = a_phone()
    begun = await client.run(
        "accounts/begin_sms_enrolment", {"input": {"phone": phone}}, token=user.token
    )
    assert begun["beginSmsEnrolment"]["__typename"] == "SmsCodeSent", begun
    code = code_in(fake.wait_for_message(phone, 1).body)
    confirmed = await client.run(
        "accounts/confirm_sms_enrolment", {"input": {"code": code, **confirm}}, token=user.token
    )
    return phone, confirmed["confirmSmsEnrolment"]


async def test_enrol_a_phone(sms_client: GraphQLClient, fake_twilio: FakeTwilio) -> None:
    # given
    user = await a_user(sms_client)
    # when
    phone, confirmed = await enable_sms(sms_client, fake_twilio, user)
    # then
    message = fake_twilio.wait_for_message(phone, 1)
    assert message.path == f"/2010-04-01/Accounts/{fake_twilio.sid}/Messages.json"
    assert message.authorization.startswith("Basic ")
    assert message.form["From"] == [fake_twilio.from_number]
    assert message.body.startswith("Exchange code: ")
    assert confirmed["__typename"] == "AccountSecurity"
    assert confirmed["twoFactorMethods"] == ["SMS"]
    assert confirmed["phone"] == phone[:3] + "*" * (len(phone) - 5) + phone[-2:]
    assert confirmed["withdrawalsLockedUntil"] is not None


async def test_login_with_an_sms_code_once(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    # when
    required = await login(sms_client, user.email)
    sent = await sms_client.run(
        "accounts/request_login_sms_code",
        {"input": {"email": user.email, "password": user.password}},
    )
    code = code_in(fake_twilio.wait_for_message(phone, 2).body)
    first = await login(sms_client, user.email, second_factor={"smsCode": code})
    again = await login(sms_client, user.email, second_factor={"smsCode": code})
    # then
    assert required["__typename"] == "SecondFactorRequiredError"
    assert required["methods"] == ["SMS"]
    assert sent["requestLoginSmsCode"]["__typename"] == "SmsCodeSent"
    assert first["__typename"] == "Session"
    assert again["__typename"] == "InvalidSecondFactorError"


async def test_expired_code_is_refused(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine
) -> None:
    # given a code older than its 5 minutes
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    await sms_client.run("accounts/request_sms_code", token=user.token)
    code = code_in(fake_twilio.wait_for_message(phone, 2).body)
    await age_sms_codes(engine, user.id, 301)
    before = await security_state(engine, user.id)
    # when
    result = await login(sms_client, user.email, second_factor={"smsCode": code})
    # then
    assert result["__typename"] == "InvalidSecondFactorError"
    assert "expired" in result["message"]
    assert await security_state(engine, user.id) == before


async def test_attempts_are_limited(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine, settings: Settings
) -> None:
    # given
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    await sms_client.run("accounts/request_sms_code", token=user.token)
    code = code_in(fake_twilio.wait_for_message(phone, 2).body)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    # when
    tries = []
    for _ in range(5):  # the login lockout, which would step in first, is cleared each time
        tries.append(await login(sms_client, user.email, second_factor={"smsCode": wrong}))
        await forget_login_failures(settings, user.email)
    right = await login(sms_client, user.email, second_factor={"smsCode": code})
    # then
    assert [t["message"] for t in tries] == ["the SMS code is wrong"] * 5
    assert right["__typename"] == "InvalidSecondFactorError"
    assert "too many wrong tries" in right["message"]


async def test_codes_are_throttled(sms_client: GraphQLClient, fake_twilio: FakeTwilio) -> None:
    # given a code was just sent (the enrolment's)
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    # when
    data = await sms_client.run("accounts/request_sms_code", token=user.token)
    # then
    assert data["requestSmsCode"]["__typename"] == "LimitExceededError"
    assert len(fake_twilio.messages_to(phone)) == 1


async def test_sms_code_approves_a_password_change_and_disabling_sms(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    # when
    await sms_client.run("accounts/request_sms_code", token=user.token)
    changed = await sms_client.run(
        "accounts/change_password",
        {
            "input": {
                "currentPassword": user.password,
                "newPassword": "new-password-77",
                "secondFactor": {"smsCode": code_in(fake_twilio.wait_for_message(phone, 2).body)},
            }
        },
        token=user.token,
    )
    await age_sms_codes(engine, user.id, 60)
    await sms_client.run("accounts/request_sms_code", token=user.token)
    disabled = await sms_client.run(
        "accounts/disable_sms",
        {"secondFactor": {"smsCode": code_in(fake_twilio.wait_for_message(phone, 3).body)}},
        token=user.token,
    )
    # then
    assert changed["changePassword"]["__typename"] == "PasswordChange"
    assert disabled["disableSms"]["__typename"] == "AccountSecurity"
    assert disabled["disableSms"]["twoFactorMethods"] == []
    assert disabled["disableSms"]["phone"] is None


async def test_adding_sms_to_totp_needs_the_totp_code(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(sms_client)
    totp = await enable_totp(sms_client, user)
    # when
    _, refused = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    _, accepted = await enable_sms(
        sms_client, fake_twilio, user, secondFactor={"totp": totp.code(1)}
    )
    # then
    assert refused["__typename"] == "SecondFactorRequiredError"
    assert refused["methods"] == ["TOTP", "RECOVERY_CODE"]
    assert accepted["__typename"] == "AccountSecurity"
    assert accepted["twoFactorMethods"] == ["TOTP", "RECOVERY_CODE", "SMS"]


@pytest.mark.parametrize("phone", ["", "07700900123", "+0447700900123", "+44 7700 abc", "+1234"])
async def test_begin_with_a_bad_phone(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine, phone: str
) -> None:
    # given
    user = await a_user(sms_client)
    before = await security_state(engine, user.id)
    sent_before = len(fake_twilio.received)
    # when
    data = await sms_client.run(
        "accounts/begin_sms_enrolment", {"input": {"phone": phone}}, token=user.token
    )
    # then
    result = data["beginSmsEnrolment"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "phone")
    assert await security_state(engine, user.id) == before
    assert len(fake_twilio.received) == sent_before


@pytest.mark.parametrize(
    ("begin", "code", "typename"),
    [
        (False, "123456", "NotFoundError"),  # enrolment not begun
        (True, "12345", "ValidationError"),  # malformed
        (True, None, "InvalidSecondFactorError"),  # wrong code
    ],
)
async def test_confirm_bad_input_changes_nothing(
    sms_client: GraphQLClient,
    fake_twilio: FakeTwilio,
    engine: AsyncEngine,
    begin: bool,
    code: str | None,
    typename: str,
) -> None:
    # given
    user = await a_user(sms_client)
    if begin:
        phone = a_phone()
        await sms_client.run(
            "accounts/begin_sms_enrolment", {"input": {"phone": phone}}, token=user.token
        )
        sent = code_in(fake_twilio.wait_for_message(phone, 1).body)
        code = code or f"{(int(sent) + 1) % 10**6:06d}"
    before = await security_state(engine, user.id)
    # when
    data = await sms_client.run(
        "accounts/confirm_sms_enrolment", {"input": {"code": code}}, token=user.token
    )
    # then
    assert data["confirmSmsEnrolment"]["__typename"] == typename
    assert await security_state(engine, user.id) == before


async def test_login_code_needs_the_password(
    sms_client: GraphQLClient, fake_twilio: FakeTwilio, engine: AsyncEngine
) -> None:
    # given
    user = await a_user(sms_client)
    phone, _ = await enable_sms(sms_client, fake_twilio, user)
    await age_sms_codes(engine, user.id, 60)
    # when
    data = await sms_client.run(
        "accounts/request_login_sms_code",
        {"input": {"email": user.email, "password": "wrong-password-1"}},
    )
    # then
    assert data["requestLoginSmsCode"]["__typename"] == "InvalidCredentialsError"
    assert len(fake_twilio.messages_to(phone)) == 1


async def test_request_without_a_phone(sms_client: GraphQLClient) -> None:
    # given
    user = await a_user(sms_client)
    # when
    data = await sms_client.run("accounts/request_sms_code", token=user.token)
    # then
    assert data["requestSmsCode"]["__typename"] == "NotFoundError"
