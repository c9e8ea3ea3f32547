"""Projections: exactly-once application and a rebuild from zero to an identical result."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.accounts.register_user import RegisterUser
from commands.admin.adjust_balance import AdjustBalance
from commands.admin.create_asset import CreateAsset
from commands.bus import CommandBus
from projections.registry import PROJECTIONS
from projections.runner import catch_up, rebuild


async def _funded_users(bus: CommandBus, asset: str, n: int) -> list[uuid.UUID]:
    admin = await bus.execute(RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-12345678"))
    users = []
    for i in range(n):
        user_id = await bus.execute(
            RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-12345678")
        )
        for amount in ("5", "0.25", "-1.5"):
            await bus.execute(
                AdjustBalance(
                    admin,
                    str(user_id),
                    asset,
                    Decimal(amount) * (i + 1),
                    "projection test",
                    uuid.uuid4().hex,
                )
            )
        users.append(user_id)
    return users


async def _dump(engine: AsyncEngine, table: str, asset: str) -> list[tuple[object, ...]]:
    """The rows of one asset (other tests write to the same tables concurrently)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT * FROM {table} WHERE asset = :a ORDER BY 1, 2, 3"), {"a": asset}
        )
        return [tuple(r) for r in rows]


async def _catch_up_until(engine: AsyncEngine, asset: str, entries: int) -> None:
    """Catch every projection up until the asset's events are in: committed events stay hidden
    while any older transaction in the cluster runs, exactly as for the workers."""
    for _ in range(400):
        for projection in PROJECTIONS.values():
            await catch_up(engine, projection, batch_size=7)
        if len(await _dump(engine, "ledger_entries_view", asset)) >= entries:
            return
        await asyncio.sleep(0.025)
    raise TimeoutError("projections did not catch up")


async def test_rebuild_gives_identical_read_models(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = "P" + uuid.uuid4().hex[:8].upper()
    await bus.execute(CreateAsset(asset, 8))
    await _funded_users(bus, asset, 3)
    await _catch_up_until(engine, asset, entries=9)
    before = {
        "balances_view": await _dump(engine, "balances_view", asset),
        "ledger_entries_view": await _dump(engine, "ledger_entries_view", asset),
    }
    # when
    for projection in PROJECTIONS.values():
        await rebuild(engine, projection, batch_size=5)
    # then
    assert await _dump(engine, "balances_view", asset) == before["balances_view"]
    assert await _dump(engine, "ledger_entries_view", asset) == before["ledger_entries_view"]


async def test_projected_balances_match_the_ledger(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = "P" + uuid.uuid4().hex[:8].upper()
    await bus.execute(CreateAsset(asset, 8))
    users = await _funded_users(bus, asset, 2)
    # when
    await _catch_up_until(engine, asset, entries=6)
    await catch_up(engine, PROJECTIONS["balances"])  # a second run applies nothing twice
    # then
    async with engine.connect() as conn:
        projected = dict(
            (
                await conn.execute(
                    text("SELECT user_id, available FROM balances_view WHERE asset = :a"),
                    {"a": asset},
                )
            ).all()
        )
        ledger = dict(
            (
                await conn.execute(
                    text(
                        "SELECT user_id, balance FROM ledger_accounts"
                        " WHERE asset = :a AND kind = 'available'"
                    ),
                    {"a": asset},
                )
            ).all()
        )
    assert projected == ledger
    assert projected[users[1]] == Decimal("7.5")
