"""Reconciliation compares independently stored figures and notices a corrupted balance."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import create_asset, fund
from tests.graphql_client import GraphQLClient


async def _row(client: GraphQLClient, token: str, asset: str) -> dict[str, object]:
    data = await client.run("admin/reconciliation", token=token)
    (row,) = [r for r in data["reconciliation"] if r["asset"] == asset]
    return row


async def test_balanced_then_detects_corrupted_balance(
    client: GraphQLClient, admin_token: str, user: tuple[str, str], engine: AsyncEngine
) -> None:
    # given
    user_id, _ = user
    asset = await create_asset(client, admin_token, 6)
    await fund(client, admin_token, user_id, asset, "100")
    await fund(client, admin_token, user_id, asset, "-40.5")
    healthy = await _row(client, admin_token, asset)
    # when: one balance row is changed behind the ledger's back
    corrupt = text(
        "UPDATE ledger_accounts SET balance = balance + :d"
        " WHERE asset = :a AND user_id = :u AND kind = 'available'"
    )
    async with engine.begin() as conn:
        await conn.execute(corrupt, {"d": 1, "a": asset, "u": user_id})
    try:
        broken = await _row(client, admin_token, asset)
    finally:
        async with engine.begin() as conn:
            await conn.execute(corrupt, {"d": -1, "a": asset, "u": user_id})
    # then
    assert healthy == {
        "asset": asset,
        "ledgerTotal": "59.500000",
        "balancesTotal": "59.500000",
        "externalNet": "59.500000",
        "mismatchedAccounts": 0,
        "unbalancedTransfers": 0,
        "balanced": True,
    }
    assert broken["balanced"] is False
    assert broken["mismatchedAccounts"] == 1
    assert broken["balancesTotal"] == "60.500000"
    assert (await _row(client, admin_token, asset))["balanced"] is True
