"""Factories and small helpers for the spot engine tests.

The default market has tick 1 and step 1 with 2 decimals on both assets, so a lot is 100 base
units and one tick x one lot is 100 quote units: a trade of 3 lots at 100 moves 30000 quote units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import (
    AMENDED,
    CANCELED,
    EXPIRED,
    FILLED,
    REJECTED,
    STATUS,
    TRADE,
    EventRecord,
    EventView,
    StatusChanged,
    Trade,
    decode,
)
from backend.domain.spot.orders import BUY, GTC, SELL, STP_EXPIRE_TAKER
from backend.domain.spot.units import MarketSpec

LOT = 100
TICK_LOT = 100
TERMINAL = {FILLED, CANCELED, EXPIRED, REJECTED}


def a_spec(**overrides: Any) -> MarketSpec:
    fields: dict[str, Any] = {
        "tick_size": Decimal("1"),
        "step_size": Decimal("1"),
        "base_precision": 2,
        "quote_precision": 2,
        "min_quantity": Decimal("1"),
        "max_quantity": Decimal("100000"),
        "min_notional": Decimal("0"),
        "maker_fee": Decimal("0.001"),
        "taker_fee": Decimal("0.002"),
        "price_band": None,
        "market_protection": Decimal("0.1"),
    }
    fields.update(overrides)
    return MarketSpec(**fields)


def an_engine(**overrides: Any) -> SpotEngine:
    return SpotEngine(a_spec(**overrides))


def buy_hold(price: int, lots: int) -> int:
    return price * lots * TICK_LOT


def sell_hold(lots: int) -> int:
    return lots * LOT


def buy(
    engine: SpotEngine,
    oid: int,
    price: int,
    lots: int,
    *,
    owner: int | None = None,
    hold: int | None = None,
    tif: int = GTC,
    post_only: bool = False,
    stp: int = STP_EXPIRE_TAKER,
    now: int = 1,
) -> None:
    engine.place_limit(
        oid,
        oid if owner is None else owner,
        BUY,
        price,
        lots,
        buy_hold(price, lots) if hold is None else hold,
        now,
        tif,
        post_only,
        stp,
    )


def sell(
    engine: SpotEngine,
    oid: int,
    price: int,
    lots: int,
    *,
    owner: int | None = None,
    hold: int | None = None,
    tif: int = GTC,
    post_only: bool = False,
    stp: int = STP_EXPIRE_TAKER,
    now: int = 1,
) -> None:
    engine.place_limit(
        oid,
        oid if owner is None else owner,
        SELL,
        price,
        lots,
        sell_hold(lots) if hold is None else hold,
        now,
        tif,
        post_only,
        stp,
    )


def trade_at(engine: SpotEngine, price: int, oid_base: int = 900) -> None:
    """Print one 1-lot trade at `price` between two fresh owners (sets the last price)."""
    sell(engine, oid_base, price, 1)
    buy(engine, oid_base + 1, price, 1)


def drain(engine: SpotEngine) -> list[EventView]:
    return [decode(event) for event in engine.take_events()]


def trades(events: Iterable[EventView]) -> list[Trade]:
    return [event for event in events if isinstance(event, Trade)]


def statuses(events: Iterable[EventView]) -> list[StatusChanged]:
    return [event for event in events if isinstance(event, StatusChanged)]


def status_of(events: Iterable[EventView], oid: int) -> list[tuple[str, str]]:
    return [(e.status, e.reason) for e in statuses(events) if e.order_id == oid]


class HoldTracker:
    """Follows every hold through the event stream: consumed + released never exceeds the hold,
    and equals it once every order sharing the hold has ended (an OCO's legs share one)."""

    def __init__(self) -> None:
        self.hold: dict[int, int] = {}
        self.used: dict[int, int] = defaultdict(int)
        self.group: dict[int, int] = {}
        self.open_legs: dict[int, set[int]] = {}

    def placed(self, oid: int, hold: int, *, sibling: int | None = None) -> None:
        self.hold[oid] = hold
        self.group[oid] = oid
        self.open_legs[oid] = {oid}
        if sibling is not None:
            self.group[sibling] = oid
            self.open_legs[oid].add(sibling)

    def apply(self, events: Iterable[EventRecord]) -> None:
        for event in events:
            kind = event[0]
            if kind == TRADE:
                trade = Trade._make(event)
                self._use(trade.maker_id, trade.maker_consumed + trade.maker_released)
                self._use(trade.taker_id, trade.taker_consumed + trade.taker_released)
            elif kind == STATUS:
                change = StatusChanged._make(event)
                self._use(change.order_id, change.released)
                if change.status in TERMINAL:
                    self.open_legs[self.group[change.order_id]].discard(change.order_id)
            elif kind == AMENDED:
                self._use(event[1], event[4])  # type: ignore[misc]

    def _use(self, oid: int, amount: int) -> None:
        group = self.group[oid]
        self.used[group] += amount
        assert self.used[group] <= self.hold[group], (oid, self.used[group], self.hold[group])

    def check_balanced(self) -> None:
        for group, hold in self.hold.items():
            if not self.open_legs[group]:
                assert self.used[group] == hold, (group, self.used[group], hold)
