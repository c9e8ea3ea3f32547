"""Shared by market commands: load assets' precision and a market's stored configuration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import assets, markets
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.markets import MarketConfig, MarketStatus


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
    return MarketConfig(
        symbol=row.symbol,
        base=row.base,
        quote=row.quote,
        tick_size=row.tick_size,
        step_size=row.step_size,
        min_quantity=row.min_quantity,
        max_quantity=row.max_quantity,
        min_notional=row.min_notional,
        maker_fee=row.maker_fee,
        taker_fee=row.taker_fee,
        price_band=row.price_band,
        market_protection=row.market_protection,
        status=MarketStatus(row.status),
    )
