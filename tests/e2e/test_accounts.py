"""Registration, login, sessions and `me`, through the real server."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import register_and_login
from tests.graphql_client import GraphQLClient, operation


async def test_register_login_and_me(client: GraphQLClient) -> None:
    # given
    email = f"Alice-{uuid.uuid4().hex[:8]}@Example.com"
    # when
    user_id, token = await register_and_login(client, email)
    me = await client.run("accounts/me", token=token)
    # then
    assert me["me"] == {
        "id": user_id,
        "email": email.lower(),
        "role": "user",
        "status": "active",
        "balances": [],
    }


async def test_register_retry_returns_same_user(client: GraphQLClient) -> None:
    # given
    variables = {"input": {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "pw-123456"}}
    first = await client.run("accounts/register", variables)
    # when
    second = await client.run("accounts/register", variables)
    # then
    assert second == first


async def test_register_taken_email_with_other_password(client: GraphQLClient) -> None:
    # given
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    await register_and_login(client, email)
    # when
    data = await client.run(
        "accounts/register", {"input": {"email": email, "password": "other-pw-1"}}
    )
    # then
    assert data["register"]["__typename"] == "EmailTakenError"
    assert data["register"]["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", "long-enough-1", "email"),
        ("a@b", "long-enough-1", "email"),
        ("x" * 250 + "@example.com", "long-enough-1", "email"),
        ("ok@example.com", "short", "password"),
        ("ok@example.com", "p" * 129, "password"),
    ],
)
async def test_register_bad_input(
    client: GraphQLClient, email: str, password: str, field: str
) -> None:
    # when
    data = await client.run("accounts/register", {"input": {"email": email, "password": password}})
    # then
    assert data["register"]["__typename"] == "ValidationError"
    assert data["register"]["field"] == field


async def test_login_wrong_password_and_unknown_email(client: GraphQLClient) -> None:
    # given
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    await register_and_login(client, email)
    # when
    wrong = await client.run(
        "accounts/login", {"input": {"email": email, "password": "wrong-pw-1"}}
    )
    unknown = await client.run(
        "accounts/login", {"input": {"email": "nobody@example.com", "password": "wrong-pw-1"}}
    )
    # then
    assert (
        wrong["login"]["__typename"] == unknown["login"]["__typename"] == "InvalidCredentialsError"
    )
    assert wrong["login"]["message"] == unknown["login"]["message"]


async def test_me_needs_authentication(client: GraphQLClient) -> None:
    # when
    anonymous = await client.raw(operation("accounts/me"))
    bad_token = await client.raw(operation("accounts/me"), token="not-a-real-token")
    # then
    for body in (anonymous, bad_token):
        assert body["data"] is None
        assert len(body["errors"]) == 1
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_wrong_types_are_graphql_errors_not_crashes(client: GraphQLClient) -> None:
    # when
    body = await client.raw(
        operation("accounts/register"), {"input": {"email": 5, "password": None}}
    )
    # then
    assert body["data"] is None
    assert len(body["errors"]) == 2
    assert "String cannot represent" in body["errors"][0]["message"]
    assert "non-null type" in body["errors"][1]["message"]


async def test_logout_revokes_the_session_server_side(client: GraphQLClient) -> None:
    # given
    _, token = await register_and_login(client)
    # when
    first = await client.run("accounts/logout", token=token)
    after = await client.raw(operation("accounts/me"), token=token)
    # then
    assert first["logout"] == {"revoked": True}
    assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
