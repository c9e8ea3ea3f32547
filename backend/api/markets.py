"""Assets and markets: public reference data."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.permissions import PUBLIC_READ
from backend.domain.markets import MarketConfig
from queries.markets import list_assets, list_markets
from queries.views import AssetView


@strawberry.enum(description="What a market accepts.")
class MarketStatus(Enum):
    ENABLED = "ENABLED"
    POST_ONLY = "POST_ONLY"
    LIMIT_ONLY = "LIMIT_ONLY"
    CANCEL_ONLY = "CANCEL_ONLY"
    DISABLED = "DISABLED"


@strawberry.type(description="A currency or token the exchange holds.")
class Asset:
    code: str = strawberry.field(description="Upper-case code, e.g. BTC.")
    precision: int = strawberry.field(description="Decimal places amounts are kept at.")

    @classmethod
    def from_view(cls, view: AssetView) -> Asset:
        return cls(code=view.code, precision=view.precision)


@strawberry.type(description="A trading pair and its rules.")
class Market:
    symbol: str = strawberry.field(description="BASE-QUOTE, e.g. BTC-USDT.")
    base: str = strawberry.field(description="The asset bought and sold.")
    quote: str = strawberry.field(description="The asset prices are in.")
    tick_size: Decimal = strawberry.field(description="Prices are multiples of this.")
    step_size: Decimal = strawberry.field(description="Quantities are multiples of this.")
    min_quantity: Decimal = strawberry.field(description="Smallest order quantity.")
    max_quantity: Decimal = strawberry.field(description="Largest order quantity.")
    min_notional: Decimal = strawberry.field(description="Smallest price x quantity.")
    maker_fee: Decimal = strawberry.field(description="Fraction charged to makers (0.001 = 0.1%).")
    taker_fee: Decimal = strawberry.field(description="Fraction charged to takers.")
    price_band: Decimal = strawberry.field(
        description="Limit prices must lie within this fraction of the last price."
    )
    market_protection: Decimal = strawberry.field(
        description="How far (fraction) a market order may walk the book from the best price."
    )
    status: MarketStatus = strawberry.field(description="What the market accepts now.")

    @classmethod
    def from_config(cls, c: MarketConfig) -> Market:
        def n(value: Decimal) -> Decimal:
            return Decimal(format(value.normalize(), "f"))

        return cls(
            symbol=c.symbol,
            base=c.base,
            quote=c.quote,
            tick_size=n(c.tick_size),
            step_size=n(c.step_size),
            min_quantity=n(c.min_quantity),
            max_quantity=n(c.max_quantity),
            min_notional=n(c.min_notional),
            maker_fee=n(c.maker_fee),
            taker_fee=n(c.taker_fee),
            price_band=n(c.price_band),
            market_protection=n(c.market_protection),
            status=MarketStatus(c.status.value),
        )


async def market_by_symbol(info: Info, symbol: str) -> Market:
    async with info.context.services.engine.connect() as conn:
        (config,) = await list_markets(conn, symbol)
    return Market.from_config(config)


@strawberry.type
class MarketQuery:
    @strawberry.field(permission_classes=PUBLIC_READ, description="Every asset.")
    async def assets(self, info: Info) -> list[Asset]:
        async with info.context.services.engine.connect() as conn:
            return [Asset.from_view(a) for a in await list_assets(conn)]

    @strawberry.field(permission_classes=PUBLIC_READ, description="Every market, or the one named.")
    async def markets(
        self,
        info: Info,
        symbol: Annotated[str | None, strawberry.argument(description="Only this market.")] = None,
    ) -> list[Market]:
        async with info.context.services.engine.connect() as conn:
            return [Market.from_config(c) for c in await list_markets(conn, symbol)]
