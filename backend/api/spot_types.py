"""GraphQL types of spot orders and fills, formatted at each market's scales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.money import fixed, scale_of
from queries.markets import get_asset_precisions, list_markets
from queries.spot import FillView, OrderMarket, OrderView


@strawberry.enum(description="Order side.")
class OrderSide(Enum):
    BUY = "BUY"
    SELL = "SELL"


@strawberry.enum(description="Order type.")
class OrderType(Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    STOP_LIMIT = "STOP_LIMIT"


@strawberry.enum(description="How long an order works: until canceled, immediately or not at all.")
class TimeInForce(Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


@strawberry.enum(description="What happens when an order would trade with its owner's own order.")
class SelfTradePrevention(Enum):
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"
    NONE = "NONE"


@strawberry.enum(description="Order lifecycle (PENDING_NEW: durable, not yet seen by the matcher).")
class OrderStatus(Enum):
    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Scales:
    price: int
    quantity: int
    quote: int
    base_asset: str
    precisions: dict[str, int]


async def market_scales(conn: AsyncConnection) -> dict[str, Scales]:
    precisions = await get_asset_precisions(conn)
    return {
        m.symbol: Scales(
            scale_of(m.tick_size), scale_of(m.step_size), precisions[m.quote], m.base, precisions
        )
        for m in await list_markets(conn)
    }


def order_scales(m: OrderMarket) -> Scales:
    """An order's market's scales (its fees are in the market's base or quote)."""
    return Scales(
        scale_of(m.tick_size),
        scale_of(m.step_size),
        m.quote_precision,
        m.base,
        {m.base: m.base_precision, m.quote: m.quote_precision},
    )


def _at(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else Decimal(fixed(value, places))


@strawberry.type(description="One execution of an order.")
class Fill:
    id: strawberry.ID = strawberry.field(description="Trade id.")
    market: str = strawberry.field(description="Market symbol.")
    order_id: strawberry.ID = strawberry.field(description="The order this fill belongs to.")
    side: OrderSide = strawberry.field(description="This order's side.")
    price: Decimal = strawberry.field(description="Execution price (the maker's).")
    quantity: Decimal = strawberry.field(description="Base quantity.")
    quote_quantity: Decimal = strawberry.field(description="Price x quantity.")
    fee: Decimal = strawberry.field(description="Fee charged, in feeAsset.")
    fee_asset: str = strawberry.field(description="The asset this side received.")
    is_maker: bool = strawberry.field(description="This order was resting on the book.")
    executed_at: datetime = strawberry.field(description="Batch timestamp of the match.")

    @classmethod
    def from_view(cls, v: FillView, s: Scales) -> Fill:
        return cls(
            id=strawberry.ID(str(v.id)),
            market=v.market,
            order_id=strawberry.ID(str(v.order_id)),
            side=OrderSide(v.side),
            price=Decimal(fixed(v.price, s.price)),
            quantity=Decimal(fixed(v.quantity, s.quantity)),
            quote_quantity=Decimal(fixed(v.quote_quantity, s.quote)),
            fee=Decimal(fixed(v.fee, s.precisions.get(v.fee_asset, 18))),
            fee_asset=v.fee_asset,
            is_maker=v.is_maker,
            executed_at=v.executed_at,
        )


@strawberry.type(description="A spot order.")
class Order:
    id: strawberry.ID = strawberry.field(description="Exchange order id.")
    client_order_id: str = strawberry.field(description="The client's id, unique per user.")
    market: str = strawberry.field(description="Market symbol.")
    side: OrderSide = strawberry.field(description="BUY or SELL.")
    type: OrderType = strawberry.field(description="MARKET, LIMIT, STOP_MARKET or STOP_LIMIT.")
    time_in_force: TimeInForce = strawberry.field(description="GTC, IOC or FOK.")
    post_only: bool = strawberry.field(description="Refused rather than taking liquidity.")
    self_trade_prevention: SelfTradePrevention = strawberry.field(description="STP mode.")
    price: Decimal | None = strawberry.field(description="Limit price.")
    stop_price: Decimal | None = strawberry.field(description="Trigger price of a stop.")
    quantity: Decimal | None = strawberry.field(description="Base quantity ordered.")
    quote_quantity: Decimal | None = strawberry.field(description="Quote amount (market orders).")
    filled_quantity: Decimal = strawberry.field(description="Base quantity filled.")
    filled_quote_quantity: Decimal = strawberry.field(description="Quote amount filled.")
    average_price: Decimal | None = strawberry.field(description="Filled quote / filled base.")
    status: OrderStatus = strawberry.field(description="Lifecycle status.")
    expiry_reason: str | None = strawberry.field(
        description="Why it ended unfilled: POST_ONLY_WOULD_TAKE, FOK_NOT_FILLABLE, STP, ..."
    )
    oco_group_id: strawberry.ID | None = strawberry.field(description="The OCO it belongs to.")
    created_at: datetime = strawberry.field(description="Accepted at.")
    updated_at: datetime = strawberry.field(description="Last changed at.")
    fills: list[Fill] = strawberry.field(description="Executions, oldest first.")

    @classmethod
    def from_view(cls, v: OrderView, s: Scales, fills: list[FillView]) -> Order:
        average = (v.filled_quote_quantity / v.filled_quantity) if v.filled_quantity else None
        return cls(
            id=strawberry.ID(str(v.id)),
            client_order_id=v.client_order_id,
            market=v.market,
            side=OrderSide(v.side),
            type=OrderType(v.type),
            time_in_force=TimeInForce(v.time_in_force),
            post_only=v.post_only,
            self_trade_prevention=SelfTradePrevention(v.self_trade_prevention),
            price=_at(v.price, s.price),
            stop_price=_at(v.stop_price, s.price),
            quantity=_at(v.quantity, s.quantity),
            quote_quantity=_at(v.quote_quantity, s.quote),
            filled_quantity=Decimal(fixed(v.filled_quantity, s.quantity)),
            filled_quote_quantity=Decimal(fixed(v.filled_quote_quantity, s.quote)),
            average_price=_at(average, s.quote),
            status=OrderStatus(v.status),
            expiry_reason=v.expiry_reason,
            oco_group_id=strawberry.ID(str(v.oco_group_id)) if v.oco_group_id else None,
            created_at=v.created_at,
            updated_at=v.updated_at,
            fills=[Fill.from_view(f, s) for f in fills],
        )
