"""Shared by market commands: load assets' precision and a market's stored configuration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import assets, markets
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.markets import MarketConfig
from queries.markets import market_from_row


async def asset_precision(conn: AsyncConnection, code: str, field: str) -> int:
    precision = (
        await conn.execute(select(assets.c.precision).where(assets.c.code == code))
    ).scalar()
    if precision is None:
        raise InvalidInput(field, f"unknown asset {code!r}")
    return int(precision)


async def load_market(
    conn: AsyncConnection, symbol: str, *, for_update: bool = False
) -> MarketConfig:
    query = select(markets).where(markets.c.symbol == symbol)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"market {symbol!r} does not exist")
    return market_from_row(row)
