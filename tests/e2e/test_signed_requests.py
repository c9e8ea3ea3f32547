"""Signed API-key requests through the real server: the Binance rules, each refusal with a clear
message and code, replay inside the window, and what each scope may reach."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import register_and_login
from tests.e2e.api_key_helpers import (
    body_of,
    create_key,
    error_code,
    now_ms,
    run_signed,
    signed_headers,
    signed_post,
)
from tests.e2e.own_server import client_from
from tests.graphql_client import GraphQLClient, operation

ME = "{ me { id email } }"


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


async def post(http: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/graphql", content=body, headers=headers)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    error = body["errors"][0]
    assert body["data"] is None
    return response.status_code, error["extensions"]["code"], error["message"]


async def test_a_signed_request_acts_as_the_keys_owner(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    user_id, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    # when
    response = await signed_post(http, key_id, secret, ME)
    wide_window = await signed_post(http, key_id, secret, ME, recv_window=60_000)
    # then
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["id"] == user_id
    assert wide_window.json()["data"]["me"]["id"] == user_id


@pytest.mark.parametrize(
    ("shift_ms", "recv_window", "words"),
    [
        (-6_000, None, "too old"),
        (6_000, None, "in the future"),
        (-2_000, 1_000, "too old"),
        (-61_000, 60_000, "too old"),
    ],
)
async def test_timestamps_outside_the_receive_window_are_refused(
    client: GraphQLClient,
    http: httpx.AsyncClient,
    shift_ms: int,
    recv_window: int | None,
    words: str,
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    # when
    response = await signed_post(
        http, key_id, secret, ME, timestamp=now_ms() + shift_ms, recv_window=recv_window
    )
    # then
    status, code, message = refusal(response)
    assert (status, code) == (401, "UNAUTHENTICATED")
    assert words in message


@pytest.mark.parametrize("recv_window", ["0", "60001", "abc"])
async def test_a_bad_receive_window_is_refused(
    client: GraphQLClient, http: httpx.AsyncClient, recv_window: str
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    body = body_of(ME)
    headers = {**signed_headers(key_id, secret, body), "x-recv-window": recv_window}
    # when
    status, code, message = refusal(await post(http, body, headers))
    # then
    assert (status, code) == (401, "UNAUTHENTICATED")
    assert "X-Recv-Window" in message


async def test_wrong_signature_altered_body_and_missing_headers_are_refused(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    body = body_of(ME)
    good = signed_headers(key_id, secret, body)
    # when
    wrong_secret = await post(http, body, signed_headers(key_id, "0" * 64, body))
    altered = await post(http, body_of("{ me { id email role } }"), good)
    no_signature = await post(http, body, {k: v for k, v in good.items() if k != "x-signature"})
    no_timestamp = await post(http, body, {k: v for k, v in good.items() if k != "x-timestamp"})
    unknown_key = await post(http, body, {**good, "x-api-key": "not-a-key"})
    # then
    for response in (wrong_secret, altered):
        status, code, message = refusal(response)
        assert (status, code) == (401, "UNAUTHENTICATED")
        assert "X-Signature does not match" in message
    for response in (no_signature, no_timestamp):
        assert refusal(response)[:2] == (401, "UNAUTHENTICATED")
    assert refusal(unknown_key)[2] == "unknown or revoked API key"


async def test_a_replayed_request_is_refused(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given: one signed request, sent twice within its window
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    body = body_of(ME)
    headers = signed_headers(key_id, secret, body)
    # when
    first = await post(http, body, headers)
    replay = await post(http, body, headers)
    # then
    assert first.status_code == 200 and "errors" not in first.json()
    status, code, message = refusal(replay)
    assert (status, code) == (401, "UNAUTHENTICATED")
    assert "replay" in message


async def test_a_revoked_key_stops_working_at_once(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    assert (await signed_post(http, key_id, secret, ME)).status_code == 200
    # when
    await client.run("api_keys/revoke_api_key", {"id": key_id}, token=token)
    response = await signed_post(http, key_id, secret, ME)
    # then
    assert refusal(response) == (401, "UNAUTHENTICATED", "unknown or revoked API key")


async def test_the_ip_allowlist_is_enforced(
    client: GraphQLClient, http: httpx.AsyncClient, server: str
) -> None:
    # given: a key usable only from 127.0.0.2
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"], ip_allowlist=["127.0.0.2"])
    # when
    from_elsewhere = await signed_post(http, key_id, secret, ME)
    async with client_from("127.0.0.2", server) as allowed_http:
        from_allowed = await signed_post(allowed_http, key_id, secret, ME)
    # then
    status, code, message = refusal(from_elsewhere)
    assert (status, code) == (403, "FORBIDDEN")
    assert "127.0.0.1" in message
    assert from_allowed.status_code == 200 and "errors" not in from_allowed.json()


async def test_a_key_cannot_be_combined_with_a_session_or_sent_by_get(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    body = body_of(ME)
    headers = signed_headers(key_id, secret, body)
    # when
    both = await post(http, body, {**headers, "authorization": f"Bearer {token}"})
    get = await http.get(
        "/graphql", params={"query": ME}, headers=signed_headers(key_id, secret, b"")
    )
    # then
    assert refusal(both)[:2] == (401, "UNAUTHENTICATED")
    assert refusal(get)[:2] == (401, "UNAUTHENTICATED")


# ---- scopes: a key never does more than its scopes ----


def order_input() -> dict[str, Any]:
    return {
        "input": {
            "market": "BTC-USDT",
            "side": "BUY",
            "type": "LIMIT",
            "price": "100",
            "quantity": "1",
        }
    }


async def test_a_read_key_cannot_place_orders(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ"])
    # when
    body = await run_signed(http, key_id, secret, "spot/place_order", order_input())
    orders = await run_signed(http, key_id, secret, "spot/my_orders", {})
    # then
    assert error_code(body) == "FORBIDDEN"
    assert "TRADE" in body["errors"][0]["message"]
    assert body["data"] is None
    assert orders["data"]["myOrders"]["edges"] == []


async def test_a_trade_key_trades_but_cannot_read_or_manage_keys(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["TRADE"])
    create_input = {"input": {"label": "escalated", "scopes": ["READ", "TRADE", "WITHDRAW"]}}
    # when
    placed = await run_signed(http, key_id, secret, "spot/place_order", order_input())
    created = await run_signed(http, key_id, secret, "api_keys/create_api_key", create_input)
    listed = await run_signed(http, key_id, secret, "api_keys/my_api_keys", {})
    revoked = await run_signed(http, key_id, secret, "api_keys/revoke_api_key", {"id": key_id})
    logout = await run_signed(http, key_id, secret, "accounts/logout", {})
    me = await run_signed(http, key_id, secret, "accounts/me", {})
    # then: the order passed the key checks (and failed as any order on an unknown market)
    assert "errors" not in placed, placed
    assert placed["data"]["placeOrder"]["__typename"] == "NotFoundError"
    for body in (created, listed, revoked, logout):
        assert error_code(body) == "FORBIDDEN", body
        assert body["data"] is None
    assert "password session" in created["errors"][0]["message"]
    assert error_code(me) == "FORBIDDEN" and "READ" in me["errors"][0]["message"]
    keys = (await client.run("api_keys/my_api_keys", token=token))["myApiKeys"]
    assert [(k["id"], k["revokedAt"]) for k in keys] == [(key_id, None)]


async def test_escalation_through_fragments_and_aliases_is_refused(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    key_id, secret = await create_key(client, token, ["READ", "TRADE"])
    documents = [
        'mutation { ...M } fragment M on Mutation { k: createApiKey(input: {label: "x",'
        " scopes: [WITHDRAW]}) { __typename } }",
        'mutation { ... on Mutation { createApiKey(input: {label: "x", scopes: [READ]})'
        " { __typename } } }",
        'mutation { register(input: {email: "bot@example.com", password: "password-1"})'
        " { __typename } }",
        "{ __schema { queryType { name } } }",
    ]
    # when
    bodies = [(await signed_post(http, key_id, secret, d)).json() for d in documents]
    # then
    for body in bodies:
        assert error_code(body) == "FORBIDDEN", body
    keys = (await client.run("api_keys/my_api_keys", token=token))["myApiKeys"]
    assert len(keys) == 1


async def test_an_admins_key_cannot_reach_admin_fields(
    client: GraphQLClient, http: httpx.AsyncClient, admin_token: str
) -> None:
    # given: a key of the admin account, with every scope a key can have without 2FA
    key_id, secret = await create_key(client, admin_token, ["READ", "TRADE"])
    # when
    users = await run_signed(http, key_id, secret, "admin/users", {"first": 5})
    asset = await run_signed(
        http, key_id, secret, "admin/create_asset", {"input": {"code": "KEYX", "precision": 2}}
    )
    # then
    for body in (users, asset):
        assert error_code(body) == "FORBIDDEN", body
        assert body["data"] is None


async def test_public_data_needs_read_scope_through_a_key(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    # given
    _, token = await register_and_login(client)
    read_id, read_secret = await create_key(client, token, ["READ"])
    trade_id, trade_secret = await create_key(client, token, ["TRADE"])
    # when
    with_read = await run_signed(http, read_id, read_secret, "markets/markets", {})
    with_trade = await run_signed(http, trade_id, trade_secret, "markets/markets", {})
    anonymous = await client.run("markets/markets")
    # then
    assert "errors" not in with_read and with_read["data"]["markets"] == anonymous["markets"]
    assert error_code(with_trade) == "FORBIDDEN"


def test_every_root_field_declares_what_an_api_key_needs() -> None:
    """New fields must say what a key needs (or that none may): reviewed here, on purpose."""
    from backend.api.schema import build_schema
    from backend.api.scope_gate import declarations

    declared = declarations(build_schema())
    everyone = {
        op: sorted((name, sorted(s or "-" for s in scopes)) for name, scopes in fields.items())
        for op, fields in declared.items()
    }
    # then: fields without declaration (register, login, admin fields) are closed to keys
    assert dict(everyone["mutation"])["placeOrder"] == ["TRADE"]
    assert dict(everyone["mutation"])["createApiKey"] == ["-"]
    assert dict(everyone["query"])["me"] == ["READ"]
    assert "adminUsers" not in dict(everyone["query"])
    assert "login" not in dict(everyone["mutation"])
    assert json.dumps(everyone)  # serializable summary, printed on failure
    assert operation("spot/place_order")
