"""Assets and markets as configured by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import assets, markets
from backend.domain.markets import MarketConfig, MarketStatus
from queries.views import AssetView


async def list_assets(conn: AsyncConnection) -> list[AssetView]:
    rows = await conn.execute(select(assets.c.code, assets.c.precision).order_by(assets.c.code))
    return [AssetView(r.code, r.precision) for r in rows]


async def get_asset_precisions(conn: AsyncConnection) -> dict[str, int]:
    return {a.code: a.precision for a in await list_assets(conn)}


def market_from_row(r: Any) -> MarketConfig:
    """A `markets` row as the domain's MarketConfig."""
    return MarketConfig(
        symbol=r.symbol,
        base=r.base,
        quote=r.quote,
        tick_size=r.tick_size,
        step_size=r.step_size,
        min_quantity=r.min_quantity,
        max_quantity=r.max_quantity,
        min_notional=r.min_notional,
        maker_fee=r.maker_fee,
        taker_fee=r.taker_fee,
        price_band=r.price_band,
        market_protection=r.market_protection,
        status=MarketStatus(r.status),
    )


async def list_markets(conn: AsyncConnection, symbol: str | None = None) -> list[MarketConfig]:
    query = select(markets).order_by(markets.c.symbol)
    if symbol is not None:
        query = query.where(markets.c.symbol == symbol)
    return [market_from_row(r) for r in await conn.execute(query)]
