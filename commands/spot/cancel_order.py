"""Cancel requests: one order (by id or clientOrderId), or all of a user's orders (a bot's kill
switch). The matcher carries them out in sequence; a request for an ended order is harmless."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import OPEN_ORDER_STATUSES, orders
from backend.domain.errors import InvalidInput, NotFound, OrderNotOpen
from backend.domain.money import require_decimal
from backend.domain.spot.units import quantity_to_lots
from commands.spot.acceptance import announce
from commands.spot.market_rules import market_context
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CancelOrder:
    user_id: uuid.UUID
    order_id: str | None = None
    client_order_id: str | None = None


@dataclass(frozen=True)
class CancelAllOrders:
    user_id: uuid.UUID
    market: str | None = None


@dataclass(frozen=True)
class AmendOrder:
    user_id: uuid.UUID
    order_id: str
    quantity: object


ORDER_ID = re.compile(r"[0-9]{1,18}")
"""ASCII digits only: str.isdigit() also takes "²" (int() refuses it) and Arabic-Indic digits."""


def order_number(order_id: str) -> int | None:
    """The order id as a number, or None when it cannot name an order."""
    return int(order_id) if ORDER_ID.fullmatch(order_id) else None


async def find_own_order(
    conn: AsyncConnection, user_id: uuid.UUID, order_id: str | None, client_order_id: str | None
) -> tuple[int, str, str]:
    """(id, market, status) of the user's order; another user's order is simply not found."""
    if (order_id is None) == (client_order_id is None):
        raise InvalidInput("orderId", "give exactly one of orderId and clientOrderId")
    query = select(orders.c.id, orders.c.market, orders.c.status).where(orders.c.user_id == user_id)
    if order_id is not None:
        number = order_number(order_id)
        if number is None:
            raise InvalidInput("orderId", "orderId is not a valid order id")
        query = query.where(orders.c.id == number)
    else:
        query = query.where(orders.c.client_order_id == client_order_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("no such order")
    return int(row.id), row.market, row.status


async def cancel_order(cmd: CancelOrder, uow: UnitOfWork) -> int:
    order_id, market, status = await find_own_order(
        uow.conn, cmd.user_id, cmd.order_id, cmd.client_order_id
    )
    if status == "CANCELED":
        return order_id  # a retried cancel
    if status not in OPEN_ORDER_STATUSES:
        raise OrderNotOpen(f"the order is {status} and cannot be canceled")
    await announce(
        uow.conn,
        market,
        "spot.cancel_requested",
        {"order_id": order_id, "user_id": str(cmd.user_id)},
    )
    return order_id


async def cancel_all_orders(cmd: CancelAllOrders, uow: UnitOfWork) -> list[str]:
    """Returns the markets where a cancel-all was requested."""
    query = (
        select(orders.c.market, orders.c.owner)
        .distinct()
        .where(orders.c.user_id == cmd.user_id, orders.c.status.in_(OPEN_ORDER_STATUSES))
    )
    if cmd.market is not None:
        await market_context(uow.conn, cmd.market)  # NotFound for an unknown market
        query = query.where(orders.c.market == cmd.market)
    rows = (await uow.conn.execute(query)).all()
    for row in rows:
        await announce(
            uow.conn,
            row.market,
            "spot.cancel_all_requested",
            {"user_id": str(cmd.user_id), "owner": row.owner},
        )
    return sorted({row.market for row in rows})


async def amend_order(cmd: AmendOrder, uow: UnitOfWork) -> int:
    """Lower an order's quantity keeping its priority (the matcher checks it against fills)."""
    order_id, market, status = await find_own_order(uow.conn, cmd.user_id, cmd.order_id, None)
    if status not in OPEN_ORDER_STATUSES:
        raise OrderNotOpen(f"the order is {status} and cannot be amended")
    context = await market_context(uow.conn, market)
    quantity = require_decimal(
        cmd.quantity, "quantity", precision=context.base_precision, positive=True
    )
    if quantity % context.spec.step_size != 0:
        raise InvalidInput("quantity", f"quantity must be a multiple of {context.spec.step_size}")
    await _check_amendable(uow.conn, order_id, quantity)
    await announce(
        uow.conn,
        market,
        "spot.amend_requested",
        {
            "order_id": order_id,
            "user_id": str(cmd.user_id),
            "quantity": str(quantity),
            "lots": quantity_to_lots(context.spec, quantity),
        },
    )
    return order_id


async def _check_amendable(conn: AsyncConnection, order_id: int, quantity: Decimal) -> None:
    """What the order row can tell already; a fill racing the amend is the matcher's to judge."""
    row = (
        await conn.execute(
            select(orders.c.quantity, orders.c.filled_quantity, orders.c.oco_group_id).where(
                orders.c.id == order_id
            )
        )
    ).one()
    if row.oco_group_id is not None:
        raise InvalidInput("orderId", "an OCO leg cannot be amended; cancel and place a new OCO")
    if row.quantity is None or quantity >= row.quantity:
        raise InvalidInput(
            "quantity", "amendOrder only lowers the quantity; use cancelReplaceOrder to raise it"
        )
    if quantity <= row.filled_quantity:
        raise InvalidInput("quantity", "the new quantity must stay above what is already filled")
