"""Turns a batch's engine records into what the write store needs: fills, order changes, one
balanced ledger transfer, book changes and market-data sequence numbers. Pure and deterministic."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from backend.domain.ledger import AccountKind, AccountRef, Posting, Transfer
from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import (
    AMENDED,
    RESTED,
    STATUS,
    TRADE,
    TRIGGERED,
    WAITING,
    Amended,
    EventRecord,
    Rested,
    StatusChanged,
    TradeRecord,
    Triggered,
    Waiting,
)
from backend.domain.spot.orders import BUY, SELL
from backend.domain.spot.units import MarketSpec, units_to_amount
from backend.matching.decimal_text import Increment, fixed_point
from backend.matching.registry import OrderInfo, OrderRegistry


@dataclass(frozen=True)
class MarketInfo:
    symbol: str
    base: str
    quote: str
    base_precision: int
    quote_precision: int
    spec: MarketSpec

    def precision(self, asset: str) -> int:
        return self.base_precision if asset == self.base else self.quote_precision


@dataclass
class BatchEffects:
    fills: list[dict[str, Any]] = field(default_factory=list)
    book: list[dict[str, Any]] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)
    net_units: dict[tuple[str | None, str, AccountKind], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    sequence: int = 0
    last_price_ticks: int | None = None

    def move(self, user: str | None, asset: str, kind: AccountKind, units: int) -> None:
        if units:
            self.net_units[(user, asset, kind)] += units


class Settlement:
    """Folds engine records into BatchEffects, keeping the registry's orders exact."""

    def __init__(
        self, market: MarketInfo, registry: OrderRegistry, sequence: int, at: datetime
    ) -> None:
        self.market, self.registry, self.at = market, registry, at
        self.effects = BatchEffects(sequence=sequence)
        self._touched: set[tuple[int, int]] = set()
        self._price = Increment.of(market.spec.tick_size)
        self._quantity = Increment.of(market.spec.step_size)

    def apply(self, records: list[EventRecord]) -> None:
        handlers = {
            TRADE: self._trade,
            STATUS: self._status,
            RESTED: self._rested,
            WAITING: self._waiting,
            TRIGGERED: self._triggered,
            AMENDED: self._amended,
        }
        for record in records:
            handler = handlers.get(record[0])
            if handler is not None:
                handler(record)

    def finish(self, engine: SpotEngine) -> BatchEffects:
        """Book changes at the batch's end, each with the next market-data sequence."""
        effects = self.effects
        for side, price in sorted(self._touched):
            effects.sequence += 1
            effects.book.append(
                {
                    "sequence": effects.sequence,
                    "side": "BUY" if side == BUY else "SELL",
                    "price": self._price.text(price),
                    "quantity": self._quantity.text(engine.level_lots(side, price)),
                }
            )
        return effects

    def _order(self, order_id: int) -> OrderInfo:
        info = self.registry.get(order_id)
        if info is None:
            raise LookupError(f"engine reported order {order_id} the matcher does not know")
        self.effects.changed.add(order_id)
        return info

    def _trade(self, record: EventRecord) -> None:
        # Integers until the fill's text: this runs for every fill of every batch.
        (
            _,
            maker_id,
            taker_id,
            _maker_owner,
            _taker_owner,
            taker_side,
            price,
            lots,
            base_units,
            quote_units,
            maker_fee,
            taker_fee,
            maker_consumed,
            maker_released,
            taker_consumed,
            taker_released,
            _at,
        ) = cast("TradeRecord", record)
        m, effects, net = self.market, self.effects, self.effects.net_units
        maker, taker = self._order(maker_id), self._order(taker_id)
        for info, consumed, released in (
            (maker, maker_consumed, maker_released),
            (taker, taker_consumed, taker_released),
        ):
            info.filled_lots += lots
            info.filled_quote_units += quote_units
            spent = consumed + released
            info.hold_units -= spent
            if spent:
                net[(info.user_id, info.hold_asset, AccountKind.LOCKED)] -= spent
            if released:
                net[(info.user_id, info.hold_asset, AccountKind.AVAILABLE)] += released
        # Each party pays its fee in the asset it receives.
        if taker_side == BUY:
            buyer, seller, buyer_fee, seller_fee = taker, maker, taker_fee, maker_fee
            maker_fee_asset, maker_fee_decimals = m.quote, m.quote_precision
            taker_fee_asset, taker_fee_decimals = m.base, m.base_precision
        else:
            buyer, seller, buyer_fee, seller_fee = maker, taker, maker_fee, taker_fee
            maker_fee_asset, maker_fee_decimals = m.base, m.base_precision
            taker_fee_asset, taker_fee_decimals = m.quote, m.quote_precision
        effects.move(buyer.user_id, m.base, AccountKind.AVAILABLE, base_units - buyer_fee)
        effects.move(seller.user_id, m.quote, AccountKind.AVAILABLE, quote_units - seller_fee)
        effects.move(None, m.base, AccountKind.FEES, buyer_fee)
        effects.move(None, m.quote, AccountKind.FEES, seller_fee)
        effects.sequence += 1
        effects.last_price_ticks = price
        self._touched.add((SELL if taker_side == BUY else BUY, price))
        effects.fills.append(
            {
                "sequence": effects.sequence,
                "price": self._price.text(price),
                "quantity": self._quantity.text(lots),
                "quote_quantity": fixed_point(quote_units, m.quote_precision),
                "taker_side": "BUY" if taker_side == BUY else "SELL",
                "maker_order_id": maker_id,
                "taker_order_id": taker_id,
                "maker_user_id": maker.user_id,
                "taker_user_id": taker.user_id,
                "maker_fee": fixed_point(maker_fee, maker_fee_decimals),
                "maker_fee_asset": maker_fee_asset,
                "taker_fee": fixed_point(taker_fee, taker_fee_decimals),
                "taker_fee_asset": taker_fee_asset,
            }
        )

    def _status(self, record: EventRecord) -> None:
        s = StatusChanged._make(record)
        info = self._order(s.order_id)
        info.status = s.status
        info.expiry_reason = s.reason or None
        self._release(info, s.released)
        if info.resting and s.status != "PARTIALLY_FILLED":
            self._touched.add((BUY if info.side == "BUY" else SELL, info.price_ticks))
            info.resting = False

    def _rested(self, record: EventRecord) -> None:
        r = Rested._make(record)
        info = self._order(r.order_id)
        info.priority, info.resting = r.seq, True
        if info.status == "PENDING_NEW":
            info.status = "NEW"
        self._touched.add((r.side, r.price))

    def _waiting(self, record: EventRecord) -> None:
        w = Waiting._make(record)
        info = self._order(w.order_id)
        info.priority, info.stop_rises = w.seq, bool(w.rises)
        if info.status == "PENDING_NEW":
            info.status = "NEW"

    def _triggered(self, record: EventRecord) -> None:
        t = Triggered._make(record)
        info = self._order(t.order_id)
        info.triggered = True
        moved = t.hold - info.hold_units
        if moved and info.oco_sibling is not None:
            # An OCO's one hold moves from the limit leg to the stop leg that now executes.
            sibling = self._order(info.oco_sibling)
            sibling.hold_units -= moved
            info.hold_units += moved

    def _amended(self, record: EventRecord) -> None:
        a = Amended._make(record)
        info = self._order(a.order_id)
        info.total_lots = a.total_lots
        self._release(info, a.released)
        if info.resting:
            self._touched.add((BUY if info.side == "BUY" else SELL, info.price_ticks))

    def _release(self, info: OrderInfo, units: int) -> None:
        if units:
            info.hold_units -= units
            self.effects.move(info.user_id, info.hold_asset, AccountKind.LOCKED, -units)
            self.effects.move(info.user_id, info.hold_asset, AccountKind.AVAILABLE, units)


def batch_transfer(market: MarketInfo, batch: int, effects: BatchEffects) -> Transfer | None:
    postings = tuple(
        Posting(
            AccountRef(asset, uuid.UUID(user) if user else None, kind),
            units_to_amount(units, market.precision(asset)),
        )
        for (user, asset, kind), units in sorted(
            effects.net_units.items(), key=lambda item: str(item[0])
        )
        if units
    )
    if not postings:
        return None
    return Transfer(
        f"match:{market.symbol}:{batch}", "trade", postings, reference=f"market:{market.symbol}"
    )
