"""Loading a market's matcher state from the write store: the engine rebuilt from working orders,
the order registry, and the input checkpoint and sequences."""

from __future__ import annotations

import gc
import sys
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import Checkpoint
from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.orders import (
    BUY,
    HOLD,
    LOTS,
    MARKET_TIF,
    NO_LINK,
    OID,
    ORIG,
    OWNER,
    PRICE,
    SEQ,
    SIDE,
    Rec,
)
from backend.domain.spot.snapshot import RestingOrder, WaitingStop
from backend.domain.spot.units import (
    MarketSpec,
    amount_to_units,
    price_to_ticks,
    quantity_to_lots,
)
from backend.matching.registry import OrderInfo, OrderRegistry
from backend.matching.settlement import MarketInfo
from backend.matching.step import SIDE as SIDE_CODE
from backend.matching.step import STP, TIF
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
    return build_engine(market, cursor, await working_orders(conn, market))


@dataclass
class WorkingOrders:
    """A market's working orders as loaded. Plain resting LIMIT orders (no OCO, not a triggered
    stop) come from PostgreSQL already as engine integers, packed: see `_PLAIN_BOOK`. Every other
    working order (stops, OCO legs...) comes as a row."""

    book: memoryview  # BOOK_FIELDS ints per plain order, in book order
    users: dict[int, str]  # owner -> user id, for the plain orders
    rows: list[Any]


async def working_orders(conn: AsyncConnection, market: MarketInfo) -> WorkingOrders:
    spec = market.spec
    grid = {
        "m": market.symbol,
        "base": market.base,
        "quote": market.quote,
        "tick": spec.tick_size,
        "step": spec.step_size,
        "base_unit": Decimal(1).scaleb(-market.base_precision),
        "quote_unit": Decimal(1).scaleb(-market.quote_precision),
    }
    packed = (await conn.execute(_PLAIN_BOOK, grid)).one()
    if packed.off_grid:
        raise ValueError(
            f"{packed.off_grid} working orders of {market.symbol} are off the market's grid"
        )
    book = _ints(packed.book or b"")
    owners = sorted(set(book[OWNER::BOOK_FIELDS]))
    users = await conn.execute(_USERS, {"owners": owners})
    rows = await conn.execute(_OTHER_ROWS, grid)
    return WorkingOrders(book, {u.number: u.id for u in users}, list(rows.all()))


_WORKING = "market = :m AND status IN ('NEW', 'PARTIALLY_FILLED')"
_PLAIN = (
    "type = 'LIMIT' AND NOT triggered AND oco_sibling_id IS NULL AND stop_rises IS NULL"
    " AND priority IS NOT NULL AND price IS NOT NULL AND quantity IS NOT NULL"
    " AND hold_asset = CASE side WHEN 'BUY' THEN :quote ELSE :base END"
    " AND status = CASE WHEN filled_quantity = 0 THEN 'NEW' ELSE 'PARTIALLY_FILLED' END"
)
"""A resting order whose registry entry follows from its engine record (see `_plain_info`)."""

_IN_UNITS = (
    "SELECT id, owner, (side = 'SELL')::int AS sell, priority, div(price, :tick)::bigint AS ticks,"
    " div(quantity, :step)::bigint AS lots, div(filled_quantity, :step)::bigint AS filled,"
    " div(hold_remaining, CASE side WHEN 'BUY' THEN :quote_unit ELSE :base_unit END)::bigint"
    "  AS hold,"
    " div(filled_quote_quantity, :quote_unit)::bigint AS filled_quote,"
    " price, quantity, filled_quantity, hold_remaining, filled_quote_quantity"
    f" FROM orders WHERE {_WORKING} AND COALESCE({_PLAIN}, false)"
    # Sorted here rather than in the aggregate (which costs half as much again); the engine
    # checks each level's time priority anyway (SpotEngine.from_records).
    " ORDER BY sell, ticks, priority"
)

BOOK_FIELDS = 9
_PLAIN_BOOK = text(
    "SELECT string_agg(int8send(id) || int8send(owner) || int8send(sell::bigint)"
    "  || int8send(ticks) || int8send(lots - filled) || int8send(lots) || int8send(hold)"
    "  || int8send(priority) || int8send(filled_quote), '') AS book,"
    # Integers in the engine's units only where exact: anything else is a corrupt row.
    " count(*) FILTER (WHERE ticks * :tick <> price OR lots * :step <> quantity"
    "  OR filled * :step <> filled_quantity OR filled_quote * :quote_unit <> filled_quote_quantity"
    "  OR hold * CASE sell WHEN 0 THEN :quote_unit ELSE :base_unit END <> hold_remaining)"
    "  AS off_grid"
    f" FROM ({_IN_UNITS}) plain"
)
"""BOOK_FIELDS big-endian int8 per plain order, grouped by price level in time priority: the
engine's record fields (id, owner, side, ticks, open lots, lots, hold, priority) and the filled
quote units."""

_USERS = text("SELECT number, id::text AS id FROM users WHERE number = ANY(:owners)")

_WORKING_COLUMNS = (
    "id", "user_id", "owner", "side", "type", "time_in_force", "self_trade_prevention", "price",
    "stop_price", "quantity", "filled_quantity", "filled_quote_quantity", "status", "hold_asset",
    "hold_remaining", "priority", "triggered", "stop_rises", "oco_sibling_id",
)  # fmt: skip
"""What the book and the registry are built from (not client ids, hashes or timestamps)."""

_OTHER_ROWS = text(
    f"SELECT {', '.join(_WORKING_COLUMNS)} FROM orders"
    f" WHERE {_WORKING} AND ({_PLAIN}) IS NOT TRUE ORDER BY priority"
)


def build_engine(
    market: MarketInfo, cursor: MarketCursor, working: WorkingOrders
) -> tuple[SpotEngine, OrderRegistry]:
    """The engine and registry from the loaded working orders: pure CPU, no database needed."""
    with _collector_paused():
        book, filled_quote = _unpack(working.book)
        registry = OrderRegistry()
        # Plain orders get their registry entry on first use, from the record as loaded.
        registry.orders.defer(
            dict(zip(map(itemgetter(OID), book), book, strict=True)),
            partial(_plain_info, market, working.users, filled_quote),
        )
        others, stops = _other_orders(market, working.rows, registry)
        last = (
            price_to_ticks(market.spec, cursor.last_price)
            if cursor.last_price is not None
            else None
        )
        engine = SpotEngine.from_records(market.spec, book + others, stops, last, cursor.engine_seq)
    return engine, registry


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A load allocates millions of objects that all stay alive: the cyclic collector's passes
    meanwhile would find nothing. Afterwards they go to its permanent generation, so that later
    passes skip them too."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _ints(packed: bytes) -> memoryview:
    ints = array("q")
    ints.frombytes(packed)
    if sys.byteorder == "little":
        ints.byteswap()  # PostgreSQL sends network byte order
    return memoryview(ints)


def _unpack(fields: memoryview) -> tuple[list[Rec], dict[int, int]]:
    """The plain orders' engine records in book order, and their filled quote units (where not
    zero) by order id."""
    ids, owners, sides, ticks, open_lots, lots, holds, seqs, filled_quote = (
        fields[i::BOOK_FIELDS] for i in range(BOOK_FIELDS)
    )
    book = list(zip(ids, owners, sides, ticks, open_lots, lots, holds, seqs, repeat(NO_LINK)))
    return book, dict(
        compress(zip(map(itemgetter(OID), book), filled_quote, strict=True), filled_quote)
    )


def _plain_info(
    market: MarketInfo, users: dict[int, str], filled_quote: dict[int, int], rec: Rec
) -> OrderInfo:
    """The registry entry of a plain resting order, from its engine record as loaded."""
    filled = rec[ORIG] - rec[LOTS]
    buy = rec[SIDE] == BUY
    return OrderInfo(
        id=rec[OID],
        user_id=users[rec[OWNER]],
        owner=rec[OWNER],
        side="BUY" if buy else "SELL",
        type="LIMIT",
        hold_asset=market.quote if buy else market.base,
        price_ticks=rec[PRICE],
        total_lots=rec[ORIG],
        hold_units=rec[HOLD],
        filled_lots=filled,
        filled_quote_units=filled_quote.pop(rec[OID], 0),
        status="PARTIALLY_FILLED" if filled else "NEW",
        priority=rec[SEQ],
        resting=True,
    )


def _other_orders(
    market: MarketInfo, rows: list[Any], registry: OrderRegistry
) -> tuple[list[Rec], list[Rec]]:
    """Registry entries of the other working orders, and their engine records: (resting in
    book order, waiting stops)."""
    spec = market.spec
    resting: list[Rec] = []
    stops: list[Rec] = []
    working = {r.id for r in rows}
    for r in rows:
        info = _info(r, market)
        # OCO legs stay linked only while both work: the first fill of the limit leg or the
        # stop's trigger ends the pair (the live engine unlinks the survivor then).
        if info.oco_sibling not in working and info.oco_sibling not in registry.orders.deferred:
            info.oco_sibling = None
        registry.add(info)
        is_stop = r.type in ("STOP_MARKET", "STOP_LIMIT") and not r.triggered
        side, open_lots = SIDE_CODE[r.side], info.total_lots - info.filled_lots
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
                ).record()
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
                ).record()
            )
    resting.sort(key=itemgetter(SIDE, PRICE, SEQ))
    return resting, stops


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
