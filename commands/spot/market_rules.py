"""What a command needs to know about a market: its engine spec, status and last price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import market_state
from backend.domain.errors import MarketUnavailable, NotFound
from backend.domain.markets import MarketConfig, MarketStatus
from backend.domain.spot.units import MarketSpec
from commands.admin.markets import asset_precision, load_market


@dataclass(frozen=True)
class MarketContext:
    config: MarketConfig
    spec: MarketSpec
    base_precision: int
    quote_precision: int
    last_price: Decimal | None


async def market_context(conn: AsyncConnection, symbol: str) -> MarketContext:
    try:
        config = await load_market(conn, symbol)
    except NotFound:
        raise NotFound(f"market {symbol!r} does not exist") from None
    base = await asset_precision(conn, config.base, "market")
    quote = await asset_precision(conn, config.quote, "market")
    last = (
        await conn.execute(select(market_state.c.last_price).where(market_state.c.market == symbol))
    ).scalar()
    return MarketContext(config, MarketSpec.from_config(config, base, quote), base, quote, last)


def check_status_allows(status: MarketStatus, order_type: str, post_only: bool) -> None:
    """Binance-style trading status: what each status still accepts."""
    if status is MarketStatus.ENABLED:
        return
    if status is MarketStatus.LIMIT_ONLY and order_type == "LIMIT":
        return
    if status is MarketStatus.POST_ONLY and order_type == "LIMIT" and post_only:
        return
    raise MarketUnavailable(f"the market is {status.value} and does not accept this order")
