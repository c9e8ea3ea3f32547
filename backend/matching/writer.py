"""Writes one batch in one transaction: fills, order changes, the ledger transfer, the batch event
and the advanced market state, which is fenced by the matcher's epoch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import driver_connection
from backend.db.event_store import Checkpoint, NewEvent, append_events
from backend.db.ledger import post_transfer
from backend.domain.ledger import AccountRef
from backend.domain.spot.units import ticks_to_price
from backend.matching import pg_arrays
from backend.matching.decimal_text import Increment, fixed_point
from backend.matching.registry import OrderRegistry
from backend.matching.settlement import BatchEffects, MarketInfo, batch_transfer


class Fenced(Exception):
    """Another matcher took this market over: this one must stop writing at once."""


# One statement per table per batch: each column one array literal, unnest on the server.
_UPDATE_ORDERS = (
    "UPDATE orders o SET status = v.status, expiry_reason = v.expiry_reason,"
    " filled_quantity = v.filled_quantity, filled_quote_quantity = v.filled_quote_quantity,"
    " hold_remaining = v.hold_remaining, quantity = v.quantity, priority = v.priority,"
    " triggered = v.triggered, stop_rises = v.stop_rises, updated_at = %s"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::numeric[], %s::numeric[],"
    "   %s::numeric[], %s::numeric[], %s::bigint[], %s::boolean[], %s::boolean[])"
    " AS v(id, status, expiry_reason, filled_quantity, filled_quote_quantity, hold_remaining,"
    "   quantity, priority, triggered, stop_rises)"
    " WHERE o.id = v.id"
)

_FILL_COLUMNS = (
    ("sequence", "bigint", pg_arrays.numbers),
    ("price", "numeric", pg_arrays.numbers),
    ("quantity", "numeric", pg_arrays.numbers),
    ("quote_quantity", "numeric", pg_arrays.numbers),
    ("taker_side", "text", pg_arrays.texts),
    ("maker_order_id", "bigint", pg_arrays.numbers),
    ("taker_order_id", "bigint", pg_arrays.numbers),
    ("maker_user_id", "uuid", pg_arrays.texts),
    ("taker_user_id", "uuid", pg_arrays.texts),
    ("maker_fee", "numeric", pg_arrays.numbers),
    ("maker_fee_asset", "text", pg_arrays.texts),
    ("taker_fee", "numeric", pg_arrays.numbers),
    ("taker_fee_asset", "text", pg_arrays.texts),
)
_INSERT_FILLS = (
    "INSERT INTO fills (market, executed_at, " + ", ".join(c for c, _, _ in _FILL_COLUMNS) + ")"
    " SELECT %s, %s, v.* FROM unnest("
    + ", ".join(f"%s::{t}[]" for _, t, _ in _FILL_COLUMNS)
    + ") AS v RETURNING id, sequence"
)

_ADVANCE = (
    "UPDATE market_state SET input_xact_id = %s::text::xid8, input_position = %s,"
    " sequence = %s, batch = %s, engine_seq = %s,"
    " last_price = COALESCE(%s::numeric, last_price), updated_at = %s"
    " WHERE market = %s AND epoch = %s"
)


def order_changes(
    market: MarketInfo, registry: OrderRegistry, effects: BatchEffects
) -> tuple[list[dict[str, Any]], list[str]]:
    """The batch's changed orders as event entries, and the UPDATE's array parameters."""
    quantity = Increment.of(market.spec.step_size)
    quote_decimals = market.quote_precision
    base, base_decimals = market.base, market.base_precision
    entries: list[dict[str, Any]] = []
    rows = []
    for order_id in sorted(effects.changed):
        info = registry.orders[order_id]
        filled = quantity.text(info.filled_lots)
        filled_quote = fixed_point(info.filled_quote_units, quote_decimals)
        hold_decimals = base_decimals if info.hold_asset == base else quote_decimals
        entries.append(
            {
                "id": order_id,
                "user_id": info.user_id,
                "status": info.status,
                "filled_quantity": filled,
                "filled_quote_quantity": filled_quote,
                "expiry_reason": info.expiry_reason,
            }
        )
        rows.append(
            (
                order_id,
                info.status,
                info.expiry_reason,
                filled,
                filled_quote,
                fixed_point(info.hold_units, hold_decimals),
                quantity.text(info.total_lots),
                info.priority,
                info.triggered,
                info.stop_rises,
            )
        )
    if not rows:
        return entries, []
    ids, status, reason, filled_q, quote_q, hold, qty, priority, triggered, rises = zip(
        *rows, strict=True
    )
    return entries, [
        pg_arrays.numbers(ids),
        pg_arrays.texts(status),
        pg_arrays.optional_texts(reason),
        pg_arrays.numbers(filled_q),
        pg_arrays.numbers(quote_q),
        pg_arrays.numbers(hold),
        pg_arrays.numbers(qty),
        pg_arrays.optional_numbers(priority),
        pg_arrays.booleans(triggered),
        pg_arrays.optional_booleans(rises),
    ]


async def write_batch(
    conn: AsyncConnection,
    market: MarketInfo,
    registry: OrderRegistry,
    effects: BatchEffects,
    *,
    epoch: int,
    batch: int,
    at: datetime,
    checkpoint: Checkpoint,
    inputs: list[int],
    engine_seq: int,
    accounts: dict[AccountRef, int] | None = None,
) -> dict[str, Any]:
    """Everything of the batch, in the caller's transaction. Returns the batch event's payload.
    `accounts` caches ledger account ids across the batches of one Batcher."""
    pg = await driver_connection(conn)
    trades = effects.fills
    ids: dict[int, int] = {}
    if trades:
        arrays = [to_array([t[c] for t in trades]) for c, _, to_array in _FILL_COLUMNS]
        cur = await pg.execute(_INSERT_FILLS, [market.symbol, at, *arrays])
        ids = {sequence: fill_id for fill_id, sequence in await cur.fetchall()}
    entries, order_arrays = order_changes(market, registry, effects)
    if order_arrays:
        await pg.execute(_UPDATE_ORDERS, [at, *order_arrays])
    transfer = batch_transfer(market, batch, effects)
    if transfer is not None:
        await post_transfer(conn, transfer, account_cache=accounts)
    last_price = (
        format(ticks_to_price(market.spec, effects.last_price_ticks), "f")
        if effects.last_price_ticks is not None
        else None
    )
    stamp = at.isoformat()
    payload = {
        "market": market.symbol,
        "batch": batch,
        "at": stamp,
        "inputs": inputs,
        "sequence": effects.sequence,
        "last_price": last_price,
        "trades": [{**t, "id": ids[t["sequence"]], "at": stamp} for t in trades],
        "book": effects.book,
        "orders": entries,
    }
    await append_events(conn, [NewEvent(f"market:{market.symbol}", "spot.batch_matched", payload)])
    advanced = await pg.execute(
        _ADVANCE,
        [
            str(checkpoint.xact_id),
            checkpoint.position,
            effects.sequence,
            batch,
            engine_seq,
            last_price,
            at,
            market.symbol,
            epoch,
        ],
    )
    if advanced.rowcount != 1:
        raise Fenced(f"market {market.symbol}: epoch {epoch} is no longer current")
    return payload
