"""SpotEngine: the public, pure and deterministic matching engine of one spot market.

No I/O, clock or randomness: the caller passes `now` (epoch microseconds) and gets every effect as
event records in `engine.events` (see events.py). Prices are ticks, quantities lots, money minor
units (see units.py); inputs are assumed to have passed filters.py already.
"""

from __future__ import annotations

from collections import deque
from heapq import heapify
from operator import itemgetter

from backend.domain.spot.book import COMPACT_MIN, depth_levels, live_orders, stack_levels
from backend.domain.spot.conditional import ConditionalOrders
from backend.domain.spot.events import (
    AMEND_AT_OR_BELOW_FILLED,
    AMEND_NOT_A_DECREASE,
    AMEND_OCO_UNSUPPORTED,
    AMEND_REJECTED,
    AMENDED,
    CANCELED,
    INSUFFICIENT_HOLD,
    RESTED,
    STATUS,
    USER_CANCELED,
)
from backend.domain.spot.orders import (
    BUY,
    GTC,
    HOLD,
    LINK,
    LOTS,
    NO_LINK,
    OID,
    ORIG,
    OWNER,
    PRICE,
    SELL,
    SEQ,
    SIDE,
    STP_EXPIRE_TAKER,
    Rec,
)
from backend.domain.spot.snapshot import (
    EngineSnapshot,
    digest,
    resting_order,
    waiting_stop,
)
from backend.domain.spot.units import NO_PRICE_LIMIT, MarketSpec


class SpotEngine(ConditionalOrders):
    """One market's order book, trigger book and matching rules.

    Every call appends its effects to `events` (drain with `take_events()`); calls never raise
    for business outcomes (rejects, no-ops and expiries are events or return values). A reused id
    of a still-working order raises DuplicateOrderId: that is a bug in the caller.
    """

    def place_limit(
        self,
        oid: int,
        owner: int,
        side: int,
        price: int,
        lots: int,
        hold: int,
        now: int,
        tif: int = GTC,
        post_only: bool = False,
        stp: int = STP_EXPIRE_TAKER,
    ) -> None:
        """LIMIT order (GTC / IOC / FOK, optionally post-only, which rejects instead of taking).

        `hold` must cover price x lots (buy, quote units) or lots (sell, base units); any excess
        is released when the order ends.
        """
        orders = self._orders
        if oid in orders or oid in self._stops:
            self._check_new_id(oid)
        if side == BUY:
            if hold < price * lots * self._tick_lot:
                self._reject(oid, INSUFFICIENT_HOLD, hold)
                return
            asks = self._ask_keys
            crosses = asks and asks[0] <= price
            levels = self._bids
            key = -price
        else:
            if hold < lots * self._lot:
                self._reject(oid, INSUFFICIENT_HOLD, hold)
                return
            bids = self._bid_keys
            crosses = bids and bids[0] <= -price
            levels = self._asks
            key = price
        self._seq = seq = self._seq + 1
        rec = (oid, owner, side, price, lots, lots, hold, seq, NO_LINK)
        if crosses or tif:  # tif: anything but GTC (0) takes the general path
            self._exec_limit(rec, tif, post_only, stp, now)
            if self._fired:
                self._run_fired(now)
            return
        # Inlined _rest: a non-crossing GTC order is the most common call of all.
        level = levels.get(key)
        if level is None:
            level = self._new_level(levels, key, side)
        level.orders.append(rec)
        level.total += lots
        orders[oid] = rec
        self.events.append((RESTED, oid, side, price, lots, seq))

    def place_market(
        self,
        oid: int,
        owner: int,
        side: int,
        lots: int,
        hold: int,
        now: int,
        quote: int = 0,
        stp: int = STP_EXPIRE_TAKER,
    ) -> None:
        """MARKET order by `lots`, or by `quote` units (lots ignored) to spend (buy) or receive
        (sell) without exceeding it. A buy by quote needs hold >= quote; a sell needs base in
        its hold for what it sells. Unfilled rest EXPIRES."""
        self._check_new_id(oid)
        if quote:
            if side == BUY:
                cap = NO_PRICE_LIMIT
                ok = hold >= quote
            else:
                cap = hold // self._lot
                ok = cap > 0
        else:
            cap = lots
            ok = side == BUY or hold >= lots * self._lot
        if not ok:
            self._reject(oid, INSUFFICIENT_HOLD, hold)
            return
        self._seq += 1
        rec = (oid, owner, side, 0, cap, cap, hold, self._seq, NO_LINK)
        self._exec_market(rec, quote, stp, now)
        if self._fired:
            self._run_fired(now)

    def cancel(self, oid: int, now: int) -> bool:
        """Cancel a working order (both legs of an OCO). Unknown or ended ids: False, no event."""
        orders = self._orders
        rec = orders.pop(oid, None)
        if rec is None:
            rec = self._stops.pop(oid, None)
            if rec is None:
                return False
            self._status(oid, CANCELED, USER_CANCELED, 0, rec[HOLD])
        else:
            # Inlined _unbook / Level.drop: cancels are a quarter of a typical flow.
            lots = rec[LOTS]
            level = self._bids[-rec[PRICE]] if rec[SIDE] == BUY else self._asks[rec[PRICE]]
            total = level.total - lots
            level.total = total
            if total:
                dead = level.dead + 1
                level.dead = dead
                if dead > COMPACT_MIN and dead > total:
                    level.compact(orders)
            else:
                level.clear()
            self.events.append((STATUS, oid, CANCELED, USER_CANCELED, rec[ORIG] - lots, rec[HOLD]))
        if rec[LINK]:
            self._end_sibling(rec[LINK], CANCELED, USER_CANCELED)
        return True

    def amend(self, oid: int, total_lots: int, now: int) -> bool:
        """Lower an order's quantity to `total_lots` keeping its time priority.

        Must stay above the filled lots and below the current quantity, else an amend_rejected
        event. Unknown or ended ids: False, no event. The hold no longer needed is released.
        """
        rec = self._orders.get(oid)
        resting = rec is not None
        if rec is None:
            rec = self._stops.get(oid)
            if rec is None:
                return False
        filled = rec[ORIG] - rec[LOTS]
        reason = ""
        if rec[LINK]:
            reason = AMEND_OCO_UNSUPPORTED
        elif total_lots >= rec[ORIG]:
            reason = AMEND_NOT_A_DECREASE
        elif total_lots <= filled:
            reason = AMEND_AT_OR_BELOW_FILLED
        if reason:
            self.events.append((AMEND_REJECTED, oid, reason))
            return True
        cut = rec[ORIG] - total_lots
        open_lots = rec[LOTS] - cut
        if resting:
            level = self._bids[-rec[PRICE]] if rec[SIDE] == BUY else self._asks[rec[PRICE]]
            level.total -= cut
        keep = self._needed_hold(rec, open_lots)
        released = rec[HOLD] - keep
        # Same SEQ: the order keeps its ticket in the level, hence its time priority.
        amended = (*rec[:LOTS], open_lots, total_lots, keep, *rec[SEQ:])
        if resting:
            self._orders[oid] = amended
        else:
            self._stops[oid] = amended
        self.events.append((AMENDED, oid, total_lots, open_lots, released))
        return True

    def _needed_hold(self, rec: Rec, open_lots: int) -> int:
        if rec[SIDE] == SELL:
            return open_lots * self._lot
        if rec[PRICE]:
            return rec[PRICE] * open_lots * self._tick_lot
        # A stop-market buy's hold is an estimate; keep it proportional (rounded up).
        return -(-rec[HOLD] * open_lots // rec[LOTS])

    def cancel_all(self, owner: int, now: int) -> int:
        """Cancel every working order of `owner`, oldest first; returns how many were canceled."""
        mine = [rec for rec in self._orders.values() if rec[OWNER] == owner]
        mine += [rec for rec in self._stops.values() if rec[OWNER] == owner]
        mine.sort(key=lambda rec: rec[SEQ])
        done = 0
        for rec in mine:
            oid = rec[0]
            if (oid in self._orders or oid in self._stops) and self.cancel(oid, now):
                done += 1
        return done

    def book_levels(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated (price ticks, lots) levels, best first: (bids, asks)."""
        return depth_levels(self._bids, -1, depth), depth_levels(self._asks, 1, depth)

    def snapshot(self) -> EngineSnapshot:
        orders = live_orders(self._bids, self._orders) + live_orders(self._asks, self._orders)
        stops = sorted(self._stops.values(), key=lambda rec: rec[SEQ])
        return EngineSnapshot(
            last_price=self._last or None,
            last_seq=self._seq,
            orders=tuple(resting_order(rec) for rec in orders),
            stops=tuple(waiting_stop(rec) for rec in stops),
        )

    @classmethod
    def restore(cls, spec: MarketSpec, snapshot: EngineSnapshot) -> SpotEngine:
        """Rebuild an engine from its working orders (any order; priority comes from `seq`)."""
        book = sorted(
            (order.record() for order in snapshot.orders),
            key=lambda rec: (rec[SIDE], rec[PRICE], rec[SEQ]),
        )
        stops = [stop.record() for stop in snapshot.stops]
        return cls.from_records(spec, book, stops, snapshot.last_price, snapshot.last_seq)

    @classmethod
    def from_records(
        cls,
        spec: MarketSpec,
        book: list[Rec],
        stops: list[Rec],
        last_price: int | None,
        last_seq: int,
    ) -> SpotEngine:
        """Rebuild an engine from resting records (RESTING_FIELDS) and waiting stop records.

        `book` should come grouped by price level and in time priority within each group (as a
        query ordered by side, price and seq returns it): each level is then built in one step,
        which is what makes loading a deep book cheap. Any other order is correct too, only
        slower: a level met again later, or out of time priority, is sorted by seq.
        """
        engine = cls(spec)
        engine._orders = dict(zip(map(itemgetter(OID), book), book, strict=True))
        for level in stack_levels(engine._bids, engine._asks, book):
            level.orders = deque(sorted(level.orders, key=itemgetter(SEQ)))
        engine._bid_keys = list(engine._bids)
        heapify(engine._bid_keys)
        engine._ask_keys = list(engine._asks)
        heapify(engine._ask_keys)
        for stop in sorted(stops, key=itemgetter(SEQ)):
            engine._file_stop(stop)
        engine.events.clear()
        engine._last = last_price or 0
        engine._seq = max(
            last_seq, max(map(itemgetter(SEQ), book), default=0),
            max(map(itemgetter(SEQ), stops), default=0),
        )  # fmt: skip
        return engine

    def state_digest(self) -> str:
        """Deterministic digest of the whole working state (book, stops, last price, sequence)."""
        return digest(self.snapshot())

    @property
    def last_seq(self) -> int:
        """The last time-priority sequence handed out (stored so a restart continues it)."""
        return self._seq

    def level_lots(self, side: int, price: int) -> int:
        """Open lots resting at one price level (0 when the level is empty or gone)."""
        if side == BUY:
            level = self._bids.get(-price)
        else:
            level = self._asks.get(price)
        return level.total if level is not None else 0
