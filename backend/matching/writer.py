"""Writes one batch in one transaction: fills, order changes, the ledger transfer, the batch event
and the advanced market state, which is fenced by the matcher's epoch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import Checkpoint, NewEvent, append_events
from backend.db.ledger import post_transfer
from backend.domain.spot.units import lots_to_quantity, ticks_to_price, units_to_amount
from backend.matching.registry import OrderRegistry
from backend.matching.settlement import BatchEffects, MarketInfo, batch_transfer

_ORDER_FIELDS = (
    "status",
    "expiry_reason",
    "filled_quantity",
    "filled_quote_quantity",
    "hold_remaining",
    "quantity",
    "priority",
    "triggered",
    "stop_rises",
)


class Fenced(Exception):
    """Another matcher took this market over: this one must stop writing at once."""


def order_changes(
    market: MarketInfo, registry: OrderRegistry, effects: BatchEffects, at: datetime
) -> list[dict[str, Any]]:
    spec, out = market.spec, []
    for order_id in sorted(effects.changed):
        info = registry.orders[order_id]
        out.append(
            {
                "b_id": order_id,
                "status": info.status,
                "expiry_reason": info.expiry_reason,
                "filled_quantity": lots_to_quantity(spec, info.filled_lots),
                "filled_quote_quantity": units_to_amount(
                    info.filled_quote_units, market.quote_precision
                ),
                "hold_remaining": units_to_amount(
                    info.hold_units, market.precision(info.hold_asset)
                ),
                "quantity": lots_to_quantity(spec, info.total_lots),
                "priority": info.priority,
                "triggered": info.triggered,
                "stop_rises": info.stop_rises,
            }
        )
    return out


# One statement per table per batch: arrays in, unnest on the server (a batch is hundreds of rows).
_UPDATE_ORDERS = text(
    "UPDATE orders o SET status = v.status, expiry_reason = v.expiry_reason,"
    " filled_quantity = v.filled_quantity, filled_quote_quantity = v.filled_quote_quantity,"
    " hold_remaining = v.hold_remaining, quantity = v.quantity, priority = v.priority,"
    " triggered = v.triggered, stop_rises = v.stop_rises, updated_at = :at"
    " FROM unnest(CAST(:id AS bigint[]), CAST(:status AS text[]), CAST(:expiry_reason AS text[]),"
    "   CAST(:filled_quantity AS numeric[]), CAST(:filled_quote_quantity AS numeric[]),"
    "   CAST(:hold_remaining AS numeric[]), CAST(:quantity AS numeric[]),"
    "   CAST(:priority AS bigint[]), CAST(:triggered AS boolean[]), CAST(:stop_rises AS boolean[]))"
    " AS v(id, status, expiry_reason, filled_quantity, filled_quote_quantity, hold_remaining,"
    "   quantity, priority, triggered, stop_rises)"
    " WHERE o.id = v.id"
)

_FILL_COLUMNS = (
    ("sequence", "bigint"),
    ("price", "numeric"),
    ("quantity", "numeric"),
    ("quote_quantity", "numeric"),
    ("taker_side", "text"),
    ("maker_order_id", "bigint"),
    ("taker_order_id", "bigint"),
    ("maker_user_id", "uuid"),
    ("taker_user_id", "uuid"),
    ("maker_fee", "numeric"),
    ("maker_fee_asset", "text"),
    ("taker_fee", "numeric"),
    ("taker_fee_asset", "text"),
)
_INSERT_FILLS = text(
    "INSERT INTO fills (market, executed_at, " + ", ".join(c for c, _ in _FILL_COLUMNS) + ")"
    " SELECT :market, :at, v.* FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _FILL_COLUMNS)
    + ") AS v RETURNING id, sequence"
)

_ADVANCE = text(
    "UPDATE market_state SET input_xact_id = CAST(:x AS text)::xid8, input_position = :p,"
    " sequence = :sequence, batch = :batch, engine_seq = :engine_seq,"
    " last_price = COALESCE(:last_price, last_price), updated_at = :at"
    " WHERE market = :market AND epoch = :epoch"
)


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
) -> dict[str, Any]:
    """Everything of the batch, in the caller's transaction. Returns the batch event's payload."""
    trades = [dict(f) for f in effects.fills]
    if trades:
        columns = {c: [t[c] for t in trades] for c, _ in _FILL_COLUMNS}
        inserted = await conn.execute(_INSERT_FILLS, {"market": market.symbol, "at": at, **columns})
        ids = {sequence: fill_id for fill_id, sequence in inserted}
        for trade in trades:
            trade["id"] = ids[trade["sequence"]]
    changes = order_changes(market, registry, effects, at)
    if changes:
        await conn.execute(
            _UPDATE_ORDERS,
            {
                "at": at,
                "id": [c["b_id"] for c in changes],
                **{k: [c[k] for c in changes] for k in _ORDER_FIELDS},
            },
        )
    transfer = batch_transfer(market, batch, effects)
    if transfer is not None:
        await post_transfer(conn, transfer)
    last_price = (
        ticks_to_price(market.spec, effects.last_price_ticks)
        if effects.last_price_ticks is not None
        else None
    )
    payload = {
        "market": market.symbol,
        "batch": batch,
        "at": at.isoformat(),
        "inputs": inputs,
        "sequence": effects.sequence,
        "last_price": format(last_price, "f") if last_price is not None else None,
        "trades": [{**t, "at": at.isoformat()} for t in trades],
        "book": effects.book,
        "orders": [
            {
                "id": c["b_id"],
                "user_id": registry.orders[c["b_id"]].user_id,
                "status": c["status"],
                "filled_quantity": format(c["filled_quantity"], "f"),
                "filled_quote_quantity": format(c["filled_quote_quantity"], "f"),
                "expiry_reason": c["expiry_reason"],
            }
            for c in changes
        ],
    }
    await append_events(conn, [NewEvent(f"market:{market.symbol}", "spot.batch_matched", payload)])
    advanced = await conn.execute(
        _ADVANCE,
        {
            "x": str(checkpoint.xact_id),
            "p": checkpoint.position,
            "sequence": effects.sequence,
            "batch": batch,
            "engine_seq": engine_seq,
            "last_price": last_price,
            "at": at,
            "market": market.symbol,
            "epoch": epoch,
        },
    )
    if advanced.rowcount != 1:
        raise Fenced(f"market {market.symbol}: epoch {epoch} is no longer current")
    return payload
