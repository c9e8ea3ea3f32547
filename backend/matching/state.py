"""Loading a market's matcher state from the write store: the engine rebuilt from working orders,
the order registry, and the input checkpoint and sequences."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import Checkpoint
from backend.db.tables import orders
from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.orders import MARKET_TIF, NO_LINK
from backend.domain.spot.snapshot import EngineSnapshot, RestingOrder, WaitingStop
from backend.domain.spot.units import (
    MarketSpec,
    amount_to_units,
    price_to_ticks,
    quantity_to_lots,
)
from backend.matching.registry import OrderInfo, OrderRegistry
from backend.matching.settlement import MarketInfo
from backend.matching.step import SIDE, STP, TIF
from commands.admin.markets import asset_precision, load_market


@dataclass
class MarketCursor:
    """Where the matcher is in a market: input checkpoint and counters (stored in market_state)."""

    checkpoint: Checkpoint
    sequence: int
    batch: int
    engine_seq: int
    last_price: Decimal | None


async def market_info(conn: AsyncConnection, symbol: str) -> MarketInfo:
    config = await load_market(conn, symbol)
    base = await asset_precision(conn, config.base, "market")
    quote = await asset_precision(conn, config.quote, "market")
    return MarketInfo(
        symbol, config.base, config.quote, base, quote, MarketSpec.from_config(config, base, quote)
    )


async def load_cursor(conn: AsyncConnection, symbol: str) -> MarketCursor:
    await conn.execute(
        text("INSERT INTO market_state (market) VALUES (:m) ON CONFLICT DO NOTHING"), {"m": symbol}
    )
    row = (
        await conn.execute(
            text(
                "SELECT input_xact_id::text::bigint AS x, input_position, sequence, batch,"
                " engine_seq, last_price FROM market_state WHERE market = :m"
            ),
            {"m": symbol},
        )
    ).one()
    return MarketCursor(
        Checkpoint(row.x, row.input_position),
        row.sequence,
        row.batch,
        row.engine_seq,
        row.last_price,
    )


async def load_engine(
    conn: AsyncConnection, market: MarketInfo, cursor: MarketCursor
) -> tuple[SpotEngine, OrderRegistry]:
    return build_engine(market, cursor, await working_orders(conn, market.symbol))


async def working_orders(conn: AsyncConnection, symbol: str) -> list[Any]:
    """The market's working orders (resting and waiting stops), in time priority."""
    rows = await conn.execute(
        select(*(orders.c[name] for name in _WORKING_COLUMNS))
        .where(orders.c.market == symbol, orders.c.status.in_(("NEW", "PARTIALLY_FILLED")))
        .order_by(orders.c.priority)
    )
    return list(rows.all())


_WORKING_COLUMNS = (
    "id", "user_id", "owner", "side", "type", "time_in_force", "self_trade_prevention", "price",
    "stop_price", "quantity", "filled_quantity", "filled_quote_quantity", "status", "hold_asset",
    "hold_remaining", "priority", "triggered", "stop_rises", "oco_sibling_id",
)
"""What the book and the registry are built from (not client ids, hashes or timestamps)."""


def build_engine(
    market: MarketInfo, cursor: MarketCursor, rows: list[Any]
) -> tuple[SpotEngine, OrderRegistry]:
    """The engine and registry from working-order rows: pure CPU, no database needed."""
    spec = market.spec
    registry = OrderRegistry()
    resting: list[RestingOrder] = []
    stops: list[WaitingStop] = []
    working = {r.id for r in rows}
    for r in rows:
        info = _info(r, market)
        # OCO legs stay linked only while both work: the first fill of the limit leg or the
        # stop's trigger ends the pair (the live engine unlinks the survivor then).
        if info.oco_sibling not in working:
            info.oco_sibling = None
        registry.add(info)
        is_stop = r.type in ("STOP_MARKET", "STOP_LIMIT") and not r.triggered
        side, open_lots = SIDE[r.side], info.total_lots - info.filled_lots
        sibling = info.oco_sibling or NO_LINK
        if is_stop:
            stops.append(
                WaitingStop(
                    r.id,
                    r.owner,
                    side,
                    price_to_ticks(spec, r.stop_price),
                    int(bool(r.stop_rises)),
                    info.price_ticks,
                    TIF[r.time_in_force] if r.type == "STOP_LIMIT" else MARKET_TIF,
                    STP[r.self_trade_prevention],
                    open_lots,
                    info.hold_units,
                    r.priority,
                    sibling,
                )
            )
        else:
            info.resting = True
            resting.append(
                RestingOrder(
                    r.id,
                    r.owner,
                    side,
                    info.price_ticks,
                    open_lots,
                    info.total_lots,
                    info.hold_units,
                    r.priority,
                    sibling,
                )
            )
    last = price_to_ticks(spec, cursor.last_price) if cursor.last_price is not None else None
    snapshot = EngineSnapshot(last, cursor.engine_seq, tuple(resting), tuple(stops))
    return SpotEngine.restore(spec, snapshot), registry


def _info(row: Any, market: MarketInfo) -> OrderInfo:
    """Registry entry for an `orders` row (the quantities back in engine units)."""
    spec = market.spec
    return OrderInfo(
        id=row.id,
        user_id=sys.intern(str(row.user_id)),  # shared by every order of the user
        owner=row.owner,
        side=sys.intern(row.side),
        type=sys.intern(row.type),
        hold_asset=sys.intern(row.hold_asset),
        price_ticks=price_to_ticks(spec, row.price) if row.price is not None else 0,
        total_lots=quantity_to_lots(spec, row.quantity),
        hold_units=amount_to_units(row.hold_remaining, market.precision(row.hold_asset)),
        filled_lots=quantity_to_lots(spec, row.filled_quantity),
        filled_quote_units=amount_to_units(row.filled_quote_quantity, market.quote_precision),
        status=sys.intern(row.status),
        priority=row.priority,
        triggered=row.triggered,
        oco_sibling=row.oco_sibling_id,
        stop_rises=row.stop_rises,
    )
