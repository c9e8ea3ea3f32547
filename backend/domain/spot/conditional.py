"""Orders that wait for a trade price: STOP_MARKET / STOP_LIMIT stops and OCO pairs."""

from __future__ import annotations

from heapq import heappush

from backend.domain.spot.events import (
    INSUFFICIENT_HOLD,
    NO_LAST_PRICE,
    OCO_PRICES_NOT_STRADDLING,
    POST_ONLY_WOULD_TAKE,
    STOP_WOULD_TRIGGER_IMMEDIATELY,
    WAITING,
)
from backend.domain.spot.orders import (
    BUY,
    GTC,
    MARKET_TIF,
    NO_LINK,
    OID,
    RISES,
    SELL,
    SEQ,
    SIDE,
    STOP,
    STP_EXPIRE_TAKER,
    Rec,
)
from backend.domain.spot.taking import TakerPaths


class DuplicateOrderId(ValueError):
    """The caller reused the id of an order that is still working: a bug upstream, not a reject."""


class ConditionalOrders(TakerPaths):
    """Placement of stops and OCO pairs (their triggering lives in the core's taker loop)."""

    def _check_new_id(self, oid: int) -> None:
        if oid in self._orders or oid in self._stops:
            raise DuplicateOrderId(f"order id {oid} is still working")

    def place_stop(
        self,
        oid: int,
        owner: int,
        side: int,
        lots: int,
        stop_price: int,
        hold: int,
        now: int,
        limit_price: int = 0,
        tif: int = GTC,
        stp: int = STP_EXPIRE_TAKER,
    ) -> None:
        """STOP_MARKET (limit_price 0) or STOP_LIMIT, armed against the last trade price.

        A stop above the last price fires when a trade prints at or above it, one below when a
        trade prints at or below it. Rejected when there is no last price yet or it equals it.
        A stop-market buy's hold caps what it may spend once triggered.
        """
        self._check_new_id(oid)
        last = self._last
        if not last:
            self._reject(oid, NO_LAST_PRICE, hold)
            return
        if stop_price == last:
            self._reject(oid, STOP_WOULD_TRIGGER_IMMEDIATELY, hold)
            return
        if side == SELL:
            need = lots * self._lot
        else:
            need = limit_price * lots * self._tick_lot
        if hold < need:
            self._reject(oid, INSUFFICIENT_HOLD, hold)
            return
        self._seq += 1
        self._file_stop((
            oid, owner, side, limit_price, lots, lots, hold, self._seq, NO_LINK,
            stop_price, int(stop_price > last), tif if limit_price else MARKET_TIF, stp,
        ))  # fmt: skip

    def place_oco(
        self,
        limit_oid: int,
        stop_oid: int,
        owner: int,
        side: int,
        lots: int,
        price: int,
        stop_price: int,
        hold: int,
        now: int,
        stop_limit_price: int = 0,
        stop_tif: int = GTC,
        stp: int = STP_EXPIRE_TAKER,
    ) -> None:
        """OCO: a post-only LIMIT leg and a stop leg for the same lots, sharing one hold.

        Prices must straddle the last trade price (buy: price < last < stop_price; sell: price >
        last > stop_price). Any fill of the limit leg ends the stop leg; the stop's trigger ends
        the limit leg before the stop executes; canceling either leg cancels both.
        """
        self._check_new_id(limit_oid)
        self._check_new_id(stop_oid)
        if limit_oid == stop_oid or limit_oid <= 0 or stop_oid <= 0:
            # Links use 0 for "no sibling", so OCO legs need distinct positive ids.
            raise DuplicateOrderId(
                f"OCO legs need distinct positive ids, got {limit_oid}, {stop_oid}"
            )
        reason = self._oco_reason(side, lots, price, stop_price, stop_limit_price, hold)
        if reason:
            self._reject(limit_oid, reason, hold)
            self._reject(stop_oid, reason, 0)
            return
        self._seq += 1
        self._rest((limit_oid, owner, side, price, lots, lots, hold, self._seq, stop_oid))
        self._seq += 1
        stop_tif = stop_tif if stop_limit_price else MARKET_TIF
        self._file_stop((
            stop_oid, owner, side, stop_limit_price, lots, lots, 0, self._seq, limit_oid,
            stop_price, int(side == BUY), stop_tif, stp,
        ))  # fmt: skip

    def _oco_reason(
        self, side: int, lots: int, price: int, stop_price: int, stop_limit: int, hold: int
    ) -> str:
        last = self._last
        if not last:
            return NO_LAST_PRICE
        if side == BUY:
            straddles = price < last < stop_price
            need = max(price, stop_limit) * lots * self._tick_lot
        else:
            straddles = price > last > stop_price
            need = lots * self._lot
        if not straddles:
            return OCO_PRICES_NOT_STRADDLING
        if hold < need:
            return INSUFFICIENT_HOLD
        best = self._best_price(1 - side)
        if best and (best <= price if side == BUY else best >= price):
            return POST_ONLY_WOULD_TAKE
        return ""

    def _file_stop(self, rec: Rec) -> None:
        self._stops[rec[OID]] = rec
        stop = rec[STOP]
        if rec[RISES]:
            heappush(self._rising, (stop, rec[SEQ], rec[OID]))
        else:
            heappush(self._falling, (-stop, rec[SEQ], rec[OID]))
        self.events.append((WAITING, rec[OID], rec[SIDE], stop, rec[RISES], rec[SEQ]))
