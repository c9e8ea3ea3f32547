"""Accepting an order: the order row, its hold (available -> locked) and the matcher's input event,
in the caller's transaction. A clientOrderId names one order for all time."""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import fetch_one
from backend.db.event_store import NewEvent, append_events
from backend.db.ledger import post_transfer
from backend.db.tables import OPEN_ORDER_STATUSES, orders, users
from backend.domain.errors import (
    AccountUnavailable,
    DuplicateClientOrderId,
    InsufficientFunds,
    LimitExceeded,
)
from backend.domain.ledger import AccountKind, AccountRef, move
from backend.domain.spot.units import units_to_amount
from backend.events import current_version
from backend.request_context import current_request
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


# The columns order_row fills.
_ORDER_FIELDS = (
    "owner", "market", "side", "type", "time_in_force", "post_only", "self_trade_prevention",
    "price", "stop_price", "quantity", "quote_quantity", "hold_asset", "hold_amount",
    "hold_remaining",
)  # fmt: skip
_CLAIM = (
    "INSERT INTO orders (user_id, client_order_id, request_hash, "
    + ", ".join(_ORDER_FIELDS)
    + ") VALUES (%(user_id)s, %(client_order_id)s, %(request_hash)s, "
    + ", ".join(f"%({f})s" for f in _ORDER_FIELDS)
    + ") ON CONFLICT (user_id, client_order_id) DO NOTHING RETURNING id"
)
_CLAIMED = (
    "SELECT id, request_hash FROM orders"
    " WHERE user_id = %(user_id)s AND client_order_id = %(client_order_id)s"
)


async def claim_client_order_id(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    client_order_id: str,
    fingerprint: dict[str, Any],
    row: dict[str, Any],
) -> tuple[int, bool]:
    """Insert the order row unless the clientOrderId exists. Returns (order id, created)."""
    digest = request_hash("place_order", fingerprint)
    key = {"user_id": user_id, "client_order_id": client_order_id}
    inserted = await fetch_one(conn, _CLAIM, {**key, "request_hash": digest, **row})
    if inserted is not None:
        return int(inserted.id), True
    existing = await fetch_one(conn, _CLAIMED, key)
    if existing is None:
        raise LookupError(f"order {client_order_id!r} neither inserted nor found")
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
    pending = (
        await conn.execute(
            select(func.count()).where(orders.c.market == market, orders.c.status == "PENDING_NEW")
        )
    ).scalar_one()
    _enforce_limits(settings, is_stop, open_orders[0], open_orders[1], pending)


def _enforce_limits(
    settings: Settings, is_stop: bool, open_orders: int, open_stops: int, pending: int
) -> None:
    """The counts include the order being placed."""
    if open_orders > settings.max_open_orders_per_market:
        raise LimitExceeded(f"at most {settings.max_open_orders_per_market} open orders per market")
    if is_stop and open_stops > settings.max_open_stop_orders:
        raise LimitExceeded(f"at most {settings.max_open_stop_orders} open stop orders per market")
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
        await post_transfer(conn, _hold_transfer(user_id, order_id, asset, amount))


# Accepting an order after its row is inserted, in one round trip: the hold (available -> locked,
# guarded so available never goes negative; the locked account is created on first use) as the
# transfer hold:<order id> with its postings and ledger.transfer_posted event, then the matcher's
# spot.order_accepted event, plus the counts the order limits need (they see the new order row).
# Every write hangs off `held`: without the funds nothing is written, and the caller raises.
# `available` is updated before `locked` is touched, which is id order (a user's available
# account exists before their first hold creates the locked one), as post_transfer locks.
_ACCEPT = """
WITH held AS (
    UPDATE ledger_accounts SET balance = balance - CAST(%(amount)s AS numeric)
    WHERE asset = %(asset)s AND user_id = %(user_id)s AND kind = 'available'
      AND balance >= CAST(%(amount)s AS numeric)
    RETURNING id
), locked AS (
    INSERT INTO ledger_accounts AS a (asset, user_id, kind, balance)
    SELECT %(asset)s, %(user_id)s, 'locked', CAST(%(amount)s AS numeric) FROM held
    ON CONFLICT (asset, user_id, kind) DO UPDATE SET balance = a.balance + EXCLUDED.balance
    RETURNING a.id
), legs (account_id, kind, amount) AS (
    SELECT id, 'available', CAST(%(debit)s AS text) FROM held
    UNION ALL SELECT id, 'locked', CAST(%(credit)s AS text) FROM locked
), transfer AS (
    INSERT INTO transfers (id, kind, reference)
    SELECT %(transfer_id)s, 'order_hold', %(reference)s FROM held
    RETURNING id
), posted AS (
    INSERT INTO postings (transfer_id, account_id, amount)
    SELECT t.id, l.account_id, CAST(l.amount AS numeric) FROM transfer t, legs l
), logged AS (
    INSERT INTO events (stream, event_type, schema_version, data, metadata)
    SELECT 'transfer:' || t.id, 'ledger.transfer_posted', %(transfer_version)s,
        jsonb_build_object(
            'transfer_id', t.id, 'kind', 'order_hold', 'reference', CAST(%(reference)s AS text),
            'postings', (
                SELECT jsonb_agg(jsonb_build_object(
                    'account_id', l.account_id, 'asset', CAST(%(asset)s AS text),
                    'user_id', CAST(%(user_text)s AS text), 'kind', l.kind, 'amount', l.amount
                ) ORDER BY l.account_id) FROM legs l
            )
        ),
        CAST(%(metadata)s AS jsonb)
    FROM transfer t
    UNION ALL
    SELECT %(stream)s, 'spot.order_accepted', %(accepted_version)s, CAST(%(accepted)s AS jsonb),
        CAST(%(metadata)s AS jsonb)
    FROM held
)
SELECT (SELECT count(*) FROM held) AS held, o.open_orders, o.open_stops,
    (SELECT count(*) FROM orders WHERE market = %(market)s AND status = 'PENDING_NEW') AS pending
FROM (
    SELECT count(*) AS open_orders,
        count(*) FILTER (WHERE type IN ('STOP_MARKET', 'STOP_LIMIT')) AS open_stops
    FROM orders
    WHERE user_id = %(user_id)s AND market = %(market)s AND status = ANY(CAST(%(open)s AS text[]))
) o
"""


async def accept_order(
    conn: AsyncConnection,
    settings: Settings,
    user_id: uuid.UUID,
    order_id: int,
    market: str,
    terms: OrderTerms,
    hold: Any,
    accepted: dict[str, Any],
) -> None:
    """Limits, hold and the matcher's input for an order whose row was just inserted (one
    statement); raises LimitExceeded or InsufficientFunds, and the caller's transaction rolls
    back. A zero hold (nothing to lock) goes the general way."""
    if not hold > 0:
        await check_limits(conn, settings, user_id, market, terms.type in STOP_TYPES)
        await announce(conn, market, "spot.order_accepted", accepted)
        return
    net = _hold_transfer(user_id, order_id, terms.hold_asset, hold).net_by_account()
    available = AccountRef.user(user_id, terms.hold_asset, AccountKind.AVAILABLE)
    locked = AccountRef.user(user_id, terms.hold_asset, AccountKind.LOCKED)
    row = await fetch_one(
        conn,
        _ACCEPT,
        {
            "amount": hold,
            "asset": terms.hold_asset,
            "user_id": user_id,
            "user_text": str(user_id),
            "debit": str(net[available]),
            "credit": str(net[locked]),
            "transfer_id": f"hold:{order_id}",
            "reference": f"order:{order_id}",
            "transfer_version": current_version("ledger.transfer_posted"),
            "accepted_version": current_version("spot.order_accepted"),
            "metadata": orjson.dumps(current_request.get().as_metadata()).decode(),
            "stream": f"market:{market}",
            "accepted": orjson.dumps(accepted).decode(),
            "market": market,
            "open": list(OPEN_ORDER_STATUSES),
        },
    )
    if row is None:
        raise AssertionError("the acceptance statement returns one row")
    _enforce_limits(
        settings, terms.type in STOP_TYPES, row.open_orders, row.open_stops, row.pending
    )
    if not row.held:
        raise InsufficientFunds(terms.hold_asset)


def _hold_transfer(user_id: uuid.UUID, order_id: int, asset: str, amount: Any) -> Any:
    return move(
        f"hold:{order_id}",
        "order_hold",
        AccountRef.user(user_id, asset, AccountKind.AVAILABLE),
        AccountRef.user(user_id, asset, AccountKind.LOCKED),
        amount,
        reference=f"order:{order_id}",
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
        for k, v in ((f.name, getattr(terms, f.name)) for f in fields(terms))
    }
    return {
        "order_id": order_id,
        "user_id": str(user_id),
        "owner": owner,
        "client_order_id": client_order_id,
        **data,
    }
