"""Accepting an order: the order row, its hold (available -> locked) and the matcher's input event,
in the caller's transaction. A clientOrderId names one order for all time."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import NewEvent, append_events
from backend.db.ledger import post_transfer
from backend.db.tables import OPEN_ORDER_STATUSES, orders, users
from backend.domain.errors import AccountUnavailable, DuplicateClientOrderId, LimitExceeded
from backend.domain.ledger import AccountKind, AccountRef, move
from backend.domain.spot.units import units_to_amount
from backend.settings import Settings
from commands.idempotency import request_hash
from commands.spot.market_rules import MarketContext
from commands.spot.order_terms import OrderTerms

STOP_TYPES = ("STOP_MARKET", "STOP_LIMIT")


async def trading_owner(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """The user's engine owner number; frozen and locked accounts may not trade. FOR SHARE: a
    concurrent status change (FOR UPDATE) waits for this order, or this order for it."""
    row = (
        await conn.execute(
            select(users.c.number, users.c.status)
            .where(users.c.id == user_id)
            .with_for_update(read=True)
        )
    ).one()
    if row.status != "active":
        raise AccountUnavailable(f"the account is {row.status}: trading is not allowed")
    number: int = row.number
    return number


async def claim_client_order_id(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    client_order_id: str,
    fingerprint: dict[str, Any],
    row: dict[str, Any],
) -> tuple[int, bool]:
    """Insert the order row unless the clientOrderId exists. Returns (order id, created)."""
    digest = request_hash("place_order", fingerprint)
    inserted = await conn.execute(
        insert(orders)
        .values(user_id=user_id, client_order_id=client_order_id, request_hash=digest, **row)
        .on_conflict_do_nothing(index_elements=[orders.c.user_id, orders.c.client_order_id])
        .returning(orders.c.id)
    )
    new_id = inserted.scalar()
    if new_id is not None:
        return int(new_id), True
    existing = (
        await conn.execute(
            select(orders.c.id, orders.c.request_hash).where(
                orders.c.user_id == user_id, orders.c.client_order_id == client_order_id
            )
        )
    ).one()
    if existing.request_hash != digest:
        raise DuplicateClientOrderId()
    return int(existing.id), False


async def check_limits(
    conn: AsyncConnection, settings: Settings, user_id: uuid.UUID, market: str, is_stop: bool
) -> None:
    open_orders = (
        await conn.execute(
            select(func.count(), func.count().filter(orders.c.type.in_(STOP_TYPES))).where(
                orders.c.user_id == user_id,
                orders.c.market == market,
                orders.c.status.in_(OPEN_ORDER_STATUSES),
            )
        )
    ).one()
    if open_orders[0] > settings.max_open_orders_per_market:
        raise LimitExceeded(f"at most {settings.max_open_orders_per_market} open orders per market")
    if is_stop and open_orders[1] > settings.max_open_stop_orders:
        raise LimitExceeded(f"at most {settings.max_open_stop_orders} open stop orders per market")
    pending = (
        await conn.execute(
            select(func.count()).where(orders.c.market == market, orders.c.status == "PENDING_NEW")
        )
    ).scalar_one()
    if pending > settings.max_pending_orders_per_market:
        raise LimitExceeded("the market is busy; retry shortly")


def order_row(terms: OrderTerms, market: MarketContext, owner: int) -> dict[str, Any]:
    precision = (
        market.quote_precision if terms.hold_asset == market.config.quote else market.base_precision
    )
    hold = units_to_amount(terms.hold_units, precision)
    return {
        "owner": owner,
        "market": market.config.symbol,
        "side": terms.side,
        "type": terms.type,
        "time_in_force": terms.time_in_force,
        "post_only": terms.post_only,
        "self_trade_prevention": terms.self_trade_prevention,
        "price": terms.price,
        "stop_price": terms.stop_price,
        "quantity": terms.quantity,
        "quote_quantity": terms.quote_quantity,
        "hold_asset": terms.hold_asset,
        "hold_amount": hold,
        "hold_remaining": hold,
    }


async def hold_funds(
    conn: AsyncConnection, user_id: uuid.UUID, order_id: int, asset: str, amount: Any
) -> None:
    """available -> locked; InsufficientFunds rolls the whole acceptance back."""
    if amount > 0:
        await post_transfer(
            conn,
            move(
                f"hold:{order_id}",
                "order_hold",
                AccountRef.user(user_id, asset, AccountKind.AVAILABLE),
                AccountRef.user(user_id, asset, AccountKind.LOCKED),
                amount,
                reference=f"order:{order_id}",
            ),
        )


async def announce(
    conn: AsyncConnection, market: str, event_type: str, data: dict[str, Any]
) -> None:
    """Append a matcher input on the market's stream (the matcher reads them in log order)."""
    await append_events(conn, [NewEvent(f"market:{market}", event_type, data)])


def accepted_event(
    order_id: int, user_id: uuid.UUID, owner: int, terms: OrderTerms, client_order_id: str
) -> dict[str, Any]:
    data = {
        k: (str(v) if v is not None and not isinstance(v, (int, bool, str)) else v)
        for k, v in asdict(terms).items()
    }
    return {
        "order_id": order_id,
        "user_id": str(user_id),
        "owner": owner,
        "client_order_id": client_order_id,
        **data,
    }
