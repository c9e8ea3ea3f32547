"""Orders and fills of one user (from the write store, so a user reads their own writes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import fetch_tuples
from backend.db.tables import OPEN_ORDER_STATUSES, fills, orders


@dataclass(frozen=True)
class OrderView:
    id: int
    user_id: uuid.UUID
    client_order_id: str
    market: str
    side: str
    type: str
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    filled_quantity: Decimal
    filled_quote_quantity: Decimal
    status: str
    expiry_reason: str | None
    oco_group_id: int | None
    oco_sibling_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FillView:
    id: int
    market: str
    sequence: int
    order_id: int
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    side: str
    fee: Decimal
    fee_asset: str
    is_maker: bool
    executed_at: datetime


_ORDER_COLUMNS = [getattr(orders.c, f) for f in OrderView.__dataclass_fields__]


async def get_orders(conn: AsyncConnection, user_id: uuid.UUID, ids: list[int]) -> list[OrderView]:
    rows = await conn.execute(
        select(*_ORDER_COLUMNS)
        .where(orders.c.user_id == user_id, orders.c.id.in_(ids))
        .order_by(orders.c.id)
    )
    return [OrderView(*r) for r in rows]


@dataclass(frozen=True)
class OrderMarket:
    """What presenting an order needs from its market."""

    tick_size: Decimal
    step_size: Decimal
    base: str
    quote: str
    base_precision: int
    quote_precision: int


class _FillRow(NamedTuple):
    """A fills row as _fill_view reads it (the columns _ORDERS_WITH_FILLS selects)."""

    id: int | None
    market: str
    sequence: int
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    taker_side: str
    maker_order_id: int
    taker_order_id: int
    maker_fee: Decimal
    taker_fee: Decimal
    maker_fee_asset: str
    taker_fee_asset: str
    executed_at: datetime


# Orders with their market's scales and every fill (one row per fill, or one without), in one
# round trip.
_ORDERS_WITH_FILLS = (
    "SELECT "
    + ", ".join(f"o.{f}" for f in OrderView.__dataclass_fields__)
    + ", m.tick_size, m.step_size, m.base, m.quote, ba.precision AS base_precision,"
    " qa.precision AS quote_precision, "
    + ", ".join(f"f.{f}" for f in _FillRow._fields)
    + " FROM orders o JOIN markets m ON m.symbol = o.market"
    " JOIN assets ba ON ba.code = m.base JOIN assets qa ON qa.code = m.quote"
    " LEFT JOIN fills f ON f.maker_order_id = o.id OR f.taker_order_id = o.id"
    " WHERE o.user_id = %(user_id)s AND o.id = ANY(CAST(%(ids)s AS bigint[]))"
    " ORDER BY o.id, f.id"
)


async def get_orders_with_fills(
    conn: AsyncConnection, user_id: uuid.UUID, ids: list[int]
) -> list[tuple[OrderView, OrderMarket, list[FillView]]]:
    """The user's orders among `ids` (by id) with their markets and fills, oldest first."""
    out: list[tuple[OrderView, OrderMarket, list[FillView]]] = []
    order_end = len(OrderView.__dataclass_fields__)
    fill_start = order_end + 6
    for r in await fetch_tuples(conn, _ORDERS_WITH_FILLS, {"user_id": user_id, "ids": ids}):
        order = OrderView(*r[:order_end])
        if not out or out[-1][0].id != order.id:
            out.append((order, OrderMarket(*r[order_end:fill_start]), []))
        fill = _FillRow(*r[fill_start:])
        if fill.id is not None:
            out[-1][2].append(_fill_view(fill, order.id, fill.maker_order_id == order.id))
    return out


async def list_orders(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    market: str | None,
    status: str | None,
    open_only: bool,
    before_id: int | None,
    limit: int,
) -> list[OrderView]:
    """Newest first, keyset-paginated by id."""
    query = select(*_ORDER_COLUMNS).where(orders.c.user_id == user_id)
    if market is not None:
        query = query.where(orders.c.market == market)
    if status is not None:
        query = query.where(orders.c.status == status)
    if open_only:
        query = query.where(orders.c.status.in_(OPEN_ORDER_STATUSES))
    if before_id is not None:
        query = query.where(orders.c.id < before_id)
    rows = await conn.execute(query.order_by(orders.c.id.desc()).limit(limit))
    return [OrderView(*r) for r in rows]


async def fills_of_orders(conn: AsyncConnection, order_ids: list[int]) -> dict[int, list[FillView]]:
    """Every fill of the given orders, by order id, oldest first (one query for a whole page)."""
    rows = await conn.execute(
        select(fills)
        .where(or_(fills.c.maker_order_id.in_(order_ids), fills.c.taker_order_id.in_(order_ids)))
        .order_by(fills.c.id)
    )
    wanted = set(order_ids)
    out: dict[int, list[FillView]] = {i: [] for i in order_ids}
    for r in rows:
        for order_id, maker in ((r.maker_order_id, True), (r.taker_order_id, False)):
            if order_id in wanted:
                out[order_id].append(_fill_view(r, order_id, maker))
    return out


async def list_fills(
    conn: AsyncConnection, user_id: uuid.UUID, market: str | None, before_id: int | None, limit: int
) -> list[FillView]:
    """A user's fills, newest first; a self-trade shows up once per side."""
    query = select(fills).where(
        or_(fills.c.maker_user_id == user_id, fills.c.taker_user_id == user_id)
    )
    if market is not None:
        query = query.where(fills.c.market == market)
    if before_id is not None:
        query = query.where(fills.c.id < before_id)
    out: list[FillView] = []
    for r in await conn.execute(query.order_by(fills.c.id.desc()).limit(limit)):
        if r.taker_user_id == user_id:
            out.append(_fill_view(r, r.taker_order_id, False))
        if r.maker_user_id == user_id:
            out.append(_fill_view(r, r.maker_order_id, True))
    return out


def _fill_view(row: Any, order_id: int, maker: bool) -> FillView:
    side = row.taker_side if not maker else ("SELL" if row.taker_side == "BUY" else "BUY")
    return FillView(
        id=row.id,
        market=row.market,
        sequence=row.sequence,
        order_id=order_id,
        price=row.price,
        quantity=row.quantity,
        quote_quantity=row.quote_quantity,
        side=side,
        fee=row.maker_fee if maker else row.taker_fee,
        fee_asset=row.maker_fee_asset if maker else row.taker_fee_asset,
        is_maker=maker,
        executed_at=row.executed_at,
    )
