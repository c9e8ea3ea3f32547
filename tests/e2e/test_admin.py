"""Admin mutations: assets, markets, balance adjustments and who may call them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import create_asset, fund
from tests.graphql_client import GraphQLClient, operation


def market_input(base_asset: str, quote_asset: str, **overrides: Any) -> dict[str, Any]:
    values = {
        "symbol": f"{base_asset}-{quote_asset}",
        "base": base_asset,
        "quote": quote_asset,
        "tickSize": "0.01",
        "stepSize": "0.001",
        "minQuantity": "0.001",
        "maxQuantity": "1000",
        "minNotional": "1",
        "makerFee": "0.001",
        "takerFee": "0.002",
        "priceBand": "0.1",
        "marketProtection": "0.05",
    }
    values.update(overrides)
    return values


async def test_create_asset_is_idempotent_by_code(client: GraphQLClient, admin_token: str) -> None:
    # given
    code = "A" + uuid.uuid4().hex[:6].upper()
    variables = {"input": {"code": code, "precision": 6}}
    # when
    first = await client.run("admin/create_asset", variables, token=admin_token)
    again = await client.run("admin/create_asset", variables, token=admin_token)
    clash = await client.run(
        "admin/create_asset", {"input": {"code": code, "precision": 2}}, token=admin_token
    )
    # then
    assert first == again
    assert first["adminCreateAsset"] == {"__typename": "Asset", "code": code, "precision": 6}
    assert clash["adminCreateAsset"]["__typename"] == "AlreadyExistsError"


@pytest.mark.parametrize(
    ("code", "precision"),
    [("btc", 8), ("B", 8), ("TOOLONGASSETCODE1", 8), ("OK1", 19), ("OK2", -1)],
)
async def test_create_asset_bad_input(
    client: GraphQLClient, admin_token: str, code: str, precision: int
) -> None:
    data = await client.run(
        "admin/create_asset", {"input": {"code": code, "precision": precision}}, token=admin_token
    )
    assert data["adminCreateAsset"]["__typename"] == "ValidationError"


async def test_create_and_update_market(client: GraphQLClient, admin_token: str) -> None:
    # given
    base = await create_asset(client, admin_token, 8)
    quote = await create_asset(client, admin_token, 6)
    # when
    created = await client.run(
        "admin/create_market", {"input": market_input(base, quote)}, token=admin_token
    )
    updated = await client.run(
        "admin/update_market",
        {
            "input": {
                "symbol": f"{base}-{quote}",
                "makerFee": "0.0005",
                "status": "CANCEL_ONLY",
                "reason": "maintenance",
            }
        },
        token=admin_token,
    )
    listed = await client.run("markets/markets", {"symbol": f"{base}-{quote}"})
    # then
    market = created["adminCreateMarket"]
    assert market["__typename"] == "Market"
    assert (market["tickSize"], market["makerFee"], market["takerFee"], market["status"]) == (
        "0.01",
        "0.001",
        "0.002",
        "ENABLED",
    )
    assert updated["adminUpdateMarket"]["makerFee"] == "0.0005"
    assert listed["markets"][0]["status"] == "CANCEL_ONLY"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tickSize": "0.0000001"}, "tickSize"),  # finer than the quote's 6 decimals
        ({"tickSize": "0.0001"}, "tickSize"),  # tick x step = 1e-7: beyond 6 quote decimals
        ({"stepSize": "0.000000001"}, "stepSize"),  # finer than the base's 8 decimals
        ({"tickSize": "1e-2"}, "tickSize"),
        ({"tickSize": "NaN"}, "tickSize"),
        ({"makerFee": "-0.1"}, "makerFee"),
        ({"priceBand": "0"}, "priceBand"),
        ({"minQuantity": "0.0015"}, "minQuantity"),
        ({"maxQuantity": "0.0001"}, "maxQuantity"),
        ({"symbol": "WRONG-NAME"}, "symbol"),
        ({"base": "NOPE"}, "base"),
    ],
)
async def test_create_market_bad_input(
    client: GraphQLClient, admin_token: str, overrides: dict[str, Any], field: str
) -> None:
    # given
    base = await create_asset(client, admin_token, 8)
    quote = await create_asset(client, admin_token, 6)
    values = market_input(base, quote, **overrides)
    # when
    data = await client.run("admin/create_market", {"input": values}, token=admin_token)
    # then
    result = data["adminCreateMarket"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field


async def test_admin_fields_are_forbidden_to_users(
    client: GraphQLClient, user: tuple[str, str]
) -> None:
    # given
    _, token = user
    # when
    as_user = await client.raw(operation("admin/reconciliation"), token=token)
    anonymous = await client.raw(
        operation("admin/create_asset"), {"input": {"code": "XX", "precision": 2}}
    )
    # then
    assert as_user["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_adjust_balance_credit_debit_and_retry(
    client: GraphQLClient, admin_token: str, user: tuple[str, str]
) -> None:
    # given
    user_id, token = user
    asset = await create_asset(client, admin_token, 8)
    variables = {
        "input": {
            "userId": user_id,
            "asset": asset,
            "amount": "10.5",
            "reason": "demo",
            "idempotencyKey": "k-" + uuid.uuid4().hex,
        }
    }
    # when
    first = await client.run("admin/adjust_balance", variables, token=admin_token)
    retry = await client.run("admin/adjust_balance", variables, token=admin_token)
    debit = await fund(client, admin_token, user_id, asset, "-0.5")
    too_much = await fund(client, admin_token, user_id, asset, "-100")
    me = await client.run("accounts/me", token=token)
    # then
    assert first["adminAdjustBalance"]["transferId"] == retry["adminAdjustBalance"]["transferId"]
    assert debit["__typename"] == "BalanceAdjustment"
    assert too_much["__typename"] == "InsufficientFundsError"
    assert too_much["asset"] == asset
    assert me["me"]["balances"] == [
        {"asset": asset, "available": "10.00000000", "locked": "0.00000000"}
    ]


async def test_adjust_balance_key_reuse_with_other_input(
    client: GraphQLClient, admin_token: str, user: tuple[str, str]
) -> None:
    # given
    user_id, _ = user
    asset = await create_asset(client, admin_token, 8)
    key = uuid.uuid4().hex
    base = {"userId": user_id, "asset": asset, "reason": "demo", "idempotencyKey": key}
    await client.run("admin/adjust_balance", {"input": {**base, "amount": "1"}}, token=admin_token)
    # when
    data = await client.run(
        "admin/adjust_balance", {"input": {**base, "amount": "2"}}, token=admin_token
    )
    # then
    assert data["adminAdjustBalance"]["__typename"] == "IdempotencyKeyReusedError"


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("1.123456789", "amount"),
        ("0", "amount"),
        ("1e3", "amount"),
        ("NaN", "amount"),
        ("Infinity", "amount"),
        (" 1", "amount"),
        (1.5, "amount"),
        ("1.", "amount"),
    ],
)
async def test_adjust_balance_bad_amount_changes_nothing(
    client: GraphQLClient, admin_token: str, user: tuple[str, str], amount: object, field: str
) -> None:
    # given
    user_id, token = user
    asset = await create_asset(client, admin_token, 8)
    # when
    data = await client.run(
        "admin/adjust_balance",
        {
            "input": {
                "userId": user_id,
                "asset": asset,
                "amount": amount,
                "reason": "demo",
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
        token=admin_token,
    )
    me = await client.run("accounts/me", token=token)
    # then
    assert data["adminAdjustBalance"]["__typename"] == "ValidationError"
    assert data["adminAdjustBalance"]["field"] == field
    assert me["me"]["balances"] == []


async def test_adjust_balance_unknown_user_and_asset(
    client: GraphQLClient, admin_token: str, user: tuple[str, str]
) -> None:
    user_id, _ = user
    asset = await create_asset(client, admin_token)
    unknown_user = await fund(client, admin_token, str(uuid.uuid4()), asset, "1")
    bad_id = await fund(client, admin_token, "not-a-uuid", asset, "1")
    unknown_asset = await fund(client, admin_token, user_id, "NOPE", "1")
    assert [unknown_user["field"], bad_id["field"], unknown_asset["field"]] == [
        "userId",
        "userId",
        "asset",
    ]


async def test_users_list_is_keyset_paginated(client: GraphQLClient, admin_token: str) -> None:
    # given
    first = await client.run("admin/users", {"first": 1}, token=admin_token)
    cursor = first["adminUsers"]["pageInfo"]["endCursor"]
    # when
    second = await client.run("admin/users", {"first": 1, "after": cursor}, token=admin_token)
    too_big = await client.raw(operation("admin/users"), {"first": 1000}, token=admin_token)
    # then
    assert (
        first["adminUsers"]["edges"][0]["node"]["id"]
        != second["adminUsers"]["edges"][0]["node"]["id"]
    )
    assert too_big["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
