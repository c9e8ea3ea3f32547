"""Feeds one input to the engine (pure: no I/O; the batch timestamp is the only clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import EXPIRED, STATUS, USER_CANCELED, StatusChanged
from backend.domain.spot.orders import (
    BUY,
    FOK,
    GTC,
    IOC,
    SELL,
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
)
from backend.matching.inputs import MatcherInput
from backend.matching.registry import OrderInfo, OrderRegistry

SIDE = {"BUY": BUY, "SELL": SELL}
TIF = {"GTC": GTC, "IOC": IOC, "FOK": FOK}
STP = {
    "EXPIRE_TAKER": STP_EXPIRE_TAKER,
    "EXPIRE_MAKER": STP_EXPIRE_MAKER,
    "EXPIRE_BOTH": STP_EXPIRE_BOTH,
    "NONE": STP_NONE,
}
TOO_OLD = "TOO_OLD"
MARKET_DISABLED = "MARKET_DISABLED"


def micros(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def order_info(data: dict[str, Any], oco_sibling: int | None = None) -> OrderInfo:
    return OrderInfo(
        id=data["order_id"],
        user_id=data["user_id"],
        owner=data["owner"],
        side=data["side"],
        type=data["type"],
        hold_asset=data["hold_asset"],
        price_ticks=data["price_ticks"],
        total_lots=data["lots"],
        hold_units=data["hold_units"],
        oco_sibling=oco_sibling,
    )


def apply_input(
    engine: SpotEngine, registry: OrderRegistry, item: MatcherInput, now: int, max_taker_age_us: int
) -> None:
    """Run `item` through `engine`; its effects land in `engine.events`."""
    data = item.data
    if item.kind == "spot.order_accepted":
        _place(engine, registry, data, now, now - micros(item.recorded_at) > max_taker_age_us)
    elif item.kind == "spot.cancel_requested":
        engine.cancel(data["order_id"], now)
    elif item.kind == "spot.cancel_all_requested":
        engine.cancel_all(data["owner"], now)
    elif item.kind == "spot.amend_requested":
        engine.amend(data["order_id"], data["lots"], now)
    elif item.kind == "admin.market_updated" and data["after"]["status"] == "DISABLED":
        cancel_everything(engine, registry, now)


def _place(
    engine: SpotEngine, registry: OrderRegistry, data: dict[str, Any], now: int, too_old: bool
) -> None:
    oco = data.get("oco")
    registry.add(order_info(data, oco["order_id"] if oco else None))
    if oco:
        # The stop leg holds nothing until it fires: the pair's one hold sits on the limit leg
        # (the stop row's hold_remaining is 0; the Triggered record moves the hold over).
        registry.add(replace(order_info(oco, data["order_id"]), hold_units=0))
    side, stp = SIDE[data["side"]], STP[data["self_trade_prevention"]]
    oid, owner, lots, hold = data["order_id"], data["owner"], data["lots"], data["hold_units"]
    kind, tif = data["type"], data["time_in_force"]
    if too_old and (kind == "MARKET" or (kind == "LIMIT" and tif != "GTC")):
        # Backpressure: a taker order that waited this long would trade on a stale book.
        engine.events.append((STATUS, oid, EXPIRED, TOO_OLD, 0, hold))
        return
    if oco:
        engine.place_oco(
            oid,
            oco["order_id"],
            owner,
            side,
            lots,
            data["price_ticks"],
            oco["stop_ticks"],
            hold,
            now,
            stop_limit_price=oco["price_ticks"],
            stp=stp,
        )
    elif kind == "LIMIT":
        engine.place_limit(
            oid, owner, side, data["price_ticks"], lots, hold, now, TIF[tif], data["post_only"], stp
        )
    elif kind == "MARKET":
        engine.place_market(oid, owner, side, lots, hold, now, quote=data["quote_units"], stp=stp)
    else:
        engine.place_stop(
            oid,
            owner,
            side,
            lots,
            data["stop_ticks"],
            hold,
            now,
            limit_price=data["price_ticks"],
            tif=TIF[tif],
            stp=stp,
        )


def cancel_everything(engine: SpotEngine, registry: OrderRegistry, now: int) -> None:
    """A DISABLED market cancels every working order and releases its funds."""
    start = len(engine.events)
    for order_id in sorted(registry.orders):
        engine.cancel(order_id, now)
    for i in range(start, len(engine.events)):
        record = engine.events[i]
        if record[0] == STATUS:
            status = StatusChanged._make(record)
            if status.reason == USER_CANCELED:
                engine.events[i] = tuple(status._replace(reason=MARKET_DISABLED))  # type: ignore[assignment]
