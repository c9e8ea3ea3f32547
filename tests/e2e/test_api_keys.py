"""API keys through the real server: create (secret once, sealed at rest), list, revoke, limits,
bad input that changes nothing, audit and events, and the admin's market-maker flag."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.api_key_tables import api_keys
from backend.db.tables import audit_log, events
from backend.security.envelope import envelope_for
from backend.settings import Settings
from tests.conftest import register_and_login
from tests.e2e.api_key_helpers import create_key
from tests.graphql_client import GraphQLClient


async def create(client: GraphQLClient, token: str, **input_: Any) -> dict[str, Any]:
    values = {"label": "bot", "scopes": ["READ"], **input_}
    data = await client.run("api_keys/create_api_key", {"input": values}, token=token)
    result: dict[str, Any] = data["createApiKey"]
    return result


async def key_rows(engine: AsyncEngine, user_id: str) -> int:
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                select(func.count())
                .select_from(api_keys)
                .where(api_keys.c.user_id == uuid.UUID(user_id))
            )
        ).scalar_one()
    return int(count)


async def test_create_list_and_revoke(
    client: GraphQLClient, engine: AsyncEngine, settings: Settings
) -> None:
    # given
    _, token = await register_and_login(client)
    # when
    created = await create(
        client, token, label="  grid bot ", scopes=["TRADE", "READ"], ipAllowlist=["10.1.2.3"]
    )
    # then: the secret comes once; the key shows what it may do
    assert created["__typename"] == "CreatedApiKeyPayload", created
    key = created["apiKey"]
    assert key["label"] == "grid bot"
    assert key["scopes"] == ["READ", "TRADE"]
    assert key["ipAllowlist"] == ["10.1.2.3/32"]
    assert key["marketMaker"] is False and key["revokedAt"] is None
    secret = created["secret"]
    assert len(secret) == 64
    listed = (await client.run("api_keys/my_api_keys", token=token))["myApiKeys"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    # and at rest the secret is sealed, opening only in its own context
    async with engine.connect() as conn:
        sealed = (
            await conn.execute(
                select(api_keys.c.secret_sealed).where(api_keys.c.id == uuid.UUID(key["id"]))
            )
        ).scalar_one()
    assert secret not in sealed
    assert envelope_for(settings).open(sealed, f"api-key:{key['id']}").decode() == secret

    # when
    revoked = await client.run("api_keys/revoke_api_key", {"id": key["id"]}, token=token)
    again = await client.run("api_keys/revoke_api_key", {"id": key["id"]}, token=token)
    # then
    assert revoked["revokeApiKey"]["__typename"] == "ApiKey"
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    assert again["revokeApiKey"]["revokedAt"] == revoked["revokeApiKey"]["revokedAt"]
    assert (await client.run("api_keys/my_api_keys", token=token))["myApiKeys"] == []
    with_revoked = await client.run("api_keys/my_api_keys", {"includeRevoked": True}, token=token)
    assert [k["id"] for k in with_revoked["myApiKeys"]] == [key["id"]]


async def test_key_actions_are_audited_and_evented(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given
    user_id, token = await register_and_login(client)
    key_id, _ = await create_key(client, token, ["READ"], label="audited")
    # when
    await client.run("api_keys/revoke_api_key", {"id": key_id}, token=token)
    # then
    async with engine.connect() as conn:
        audits = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor_id, audit_log.c.after)
                .where(audit_log.c.target == f"api_key:{key_id}")
                .order_by(audit_log.c.id)
            )
        ).all()
        kinds = (
            (
                await conn.execute(
                    select(events.c.event_type)
                    .where(events.c.stream == f"user:{user_id}")
                    .where(events.c.event_type.like("account.api_key_%"))
                    .order_by(events.c.position)
                )
            )
            .scalars()
            .all()
        )
    assert [a.action for a in audits] == ["api_key.create", "api_key.revoke"]
    assert {str(a.actor_id) for a in audits} == {user_id}
    assert "secret" not in str(audits[0].after)
    assert kinds == ["account.api_key_created", "account.api_key_revoked"]


@pytest.mark.parametrize(
    ("input_", "field"),
    [
        ({"label": "   "}, "label"),
        ({"label": "x" * 65}, "label"),
        ({"scopes": []}, "scopes"),
        ({"ipAllowlist": ["10.0.0.300"]}, "ipAllowlist"),
        ({"ipAllowlist": ["10.0.0.0/33"]}, "ipAllowlist"),
        ({"ipAllowlist": ["example.com"]}, "ipAllowlist"),
    ],
)
async def test_bad_input_is_a_typed_error_and_creates_nothing(
    client: GraphQLClient, engine: AsyncEngine, input_: dict[str, Any], field: str
) -> None:
    # given
    user_id, token = await register_and_login(client)
    # when
    result = await create(client, token, **input_)
    # then
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert await key_rows(engine, user_id) == 0


async def test_unknown_scope_is_refused_by_the_schema(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given
    user_id, token = await register_and_login(client)
    # when
    body = await client.raw(
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename } }",
        {"i": {"label": "bot", "scopes": ["ADMIN"]}},
        token,
    )
    # then
    assert body.get("data") is None
    assert "ApiKeyScope" in body["errors"][0]["message"]
    assert await key_rows(engine, user_id) == 0


async def test_withdraw_key_needs_a_second_factor(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given: the user has no second factor (and cannot, until the 2FA branch lands)
    user_id, token = await register_and_login(client)
    # when
    result = await create(client, token, scopes=["READ", "WITHDRAW"])
    with_code = await create(client, token, scopes=["WITHDRAW"], secondFactor={"totp": "123456"})
    # then
    assert result["__typename"] == "SecondFactorRequiredError", result
    assert result["code"] == "SECOND_FACTOR_REQUIRED"
    assert with_code["__typename"] == "SecondFactorRequiredError", with_code
    assert await key_rows(engine, user_id) == 0


async def test_revoking_a_foreign_or_malformed_key_changes_nothing(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given
    _, owner_token = await register_and_login(client)
    _, other_token = await register_and_login(client)
    key_id, _ = await create_key(client, owner_token, ["READ"])
    # when
    foreign = await client.run("api_keys/revoke_api_key", {"id": key_id}, token=other_token)
    unknown = await client.run(
        "api_keys/revoke_api_key", {"id": str(uuid.uuid4())}, token=other_token
    )
    malformed = await client.run("api_keys/revoke_api_key", {"id": "nope"}, token=other_token)
    # then
    assert foreign["revokeApiKey"]["__typename"] == "NotFoundError"
    assert unknown["revokeApiKey"]["__typename"] == "NotFoundError"
    assert malformed["revokeApiKey"]["__typename"] == "ValidationError"
    assert malformed["revokeApiKey"]["field"] == "id"
    listed = (await client.run("api_keys/my_api_keys", token=owner_token))["myApiKeys"]
    assert [k["revokedAt"] for k in listed] == [None]
    others = (await client.run("api_keys/my_api_keys", token=other_token))["myApiKeys"]
    assert others == []


async def test_keys_per_user_are_limited(
    client: GraphQLClient, engine: AsyncEngine, settings: Settings
) -> None:
    # given: a user at the limit (rows written directly: the limit is what is tested)
    user_id, token = await register_and_login(client)
    first_id, _ = await create_key(client, token, ["READ"])
    async with engine.begin() as conn:
        sealed = (
            await conn.execute(
                select(api_keys.c.secret_sealed).where(api_keys.c.id == uuid.UUID(first_id))
            )
        ).scalar_one()
        for _ in range(settings.max_api_keys_per_user - 1):
            await conn.execute(
                api_keys.insert().values(
                    id=uuid.uuid4(),
                    user_id=uuid.UUID(user_id),
                    label="filler",
                    scopes=["READ"],
                    secret_sealed=sealed,
                )
            )
    # when
    refused = await create(client, token)
    await client.run("api_keys/revoke_api_key", {"id": first_id}, token=token)
    allowed = await create(client, token)
    # then
    assert refused["__typename"] == "LimitExceededError", refused
    assert allowed["__typename"] == "CreatedApiKeyPayload", allowed


async def test_key_fields_need_a_session(client: GraphQLClient) -> None:
    # when
    created = await client.raw(
        'mutation { createApiKey(input: {label: "x", scopes: [READ]}) { __typename } }'
    )
    listed = await client.raw("{ myApiKeys { id } }")
    # then
    assert created["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert listed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_admin_sets_the_market_maker_tier_with_a_reason(
    client: GraphQLClient, engine: AsyncEngine, admin_token: str
) -> None:
    # given
    user_id, token = await register_and_login(client)
    key_id, _ = await create_key(client, token, ["TRADE"])
    variables = {"input": {"apiKeyId": key_id, "marketMaker": True, "reason": "MM agreement 42"}}
    # when
    by_user = await client.raw(
        "mutation($input: SetApiKeyMarketMakerInput!) {"
        " adminSetApiKeyMarketMaker(input: $input) { __typename } }",
        variables,
        token,
    )
    no_reason = await client.run(
        "admin/set_api_key_market_maker",
        {"input": {**variables["input"], "reason": " "}},
        token=admin_token,
    )
    done = await client.run("admin/set_api_key_market_maker", variables, token=admin_token)
    listed = await client.run("admin/api_keys", {"userId": user_id}, token=admin_token)
    # then
    assert by_user["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert no_reason["adminSetApiKeyMarketMaker"]["__typename"] == "ValidationError"
    assert done["adminSetApiKeyMarketMaker"] == {
        "__typename": "ApiKey",
        "id": key_id,
        "marketMaker": True,
    }
    assert listed["adminApiKeys"][0]["marketMaker"] is True
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text(
                    "SELECT reason, before, after FROM audit_log"
                    " WHERE action = 'api_key.set_market_maker' AND target = :t"
                ),
                {"t": f"api_key:{key_id}"},
            )
        ).one()
    assert audit.reason == "MM agreement 42"
    assert audit.before == {"market_maker": False} and audit.after == {"market_maker": True}
