"""Engine state and the taker loop: price-time matching, fees, holds, STP, trigger detection.

Everything here is the hot path, so it trades some style for speed: records are int tuples,
attributes are bound to locals before loops, and the matching loop is one function on purpose
(a call per fill would cost more than the fill itself).
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush

from backend.domain.spot.book import EMPTY_KEY, Level, Orders, Side, top_key
from backend.domain.spot.events import (
    EXPIRED,
    FILLED,
    HOLD_EXHAUSTED,
    NO_REASON,
    OCO_SIBLING_ENDED,
    OCO_SIBLING_FILLED,
    OCO_SIBLING_TRIGGERED,
    PARTIALLY_FILLED,
    REJECTED,
    RESTED,
    STATUS,
    STP_EXPIRED,
    TRADE,
    TRIGGERED,
    EventRecord,
)
from backend.domain.spot.orders import (
    BUY,
    HOLD,
    LINK,
    LOTS,
    NO_LINK,
    OID,
    ORIG,
    OWNER,
    PRICE,
    RISES,
    SEQ,
    SIDE,
    STOP,
    STP,
    STP_EXPIRE_BOTH,
    STP_EXPIRE_TAKER,
    STP_NONE,
    TIF,
    Rec,
)
from backend.domain.spot.units import MarketSpec

# Heap entries of the trigger book: (key, seq, order id); key = stop price for rising stops,
# -stop price for falling ones, so the top is always the next stop the price path reaches.
StopEntry = tuple[int, int, int]


class EngineCore:
    """State of one market's book and trigger book, and the operations every order type shares."""

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self._lot = spec.lot_units
        self._tick_lot = spec.tick_lot_units
        maker, taker = spec.maker_rate, spec.taker_rate
        # Fee = (2 * received * num + den) // (2 * den): half-up, integers only.
        self._mk_num2 = 2 * maker.numerator
        self._mk_den = maker.denominator
        self._mk_den2 = 2 * maker.denominator
        self._tk_num2 = 2 * taker.numerator
        self._tk_den = taker.denominator
        self._tk_den2 = 2 * taker.denominator
        # The same, packed for one unpack per _match call instead of eight attribute reads.
        self._match_consts = (
            self._tick_lot, self._lot, self._mk_num2, self._mk_den, self._mk_den2,
            self._tk_num2, self._tk_den, self._tk_den2,
        )  # fmt: skip
        self._orders: Orders = {}  # resting orders: id -> current record
        self._stops: Orders = {}  # waiting stops: id -> record
        self._bids: Side = {}
        self._bid_keys: list[int] = []
        self._asks: Side = {}
        self._ask_keys: list[int] = []
        self._rising: list[StopEntry] = []
        self._falling: list[StopEntry] = []
        self._fired: deque[Rec] = deque()
        self._last = 0  # last trade price in ticks; 0 = no trade yet
        self._seq = 0
        # What the last _match left: open lots, hold, budget.
        self._rem = 0
        self._hold = 0
        self._budget_left = 0
        self.events: list[EventRecord] = []

    def take_events(self) -> list[EventRecord]:
        """Hand over the events emitted since the last call and start a new list."""
        events = self.events
        self.events = []
        return events

    @property
    def last_price(self) -> int | None:
        return self._last or None

    def _new_level(self, levels: Side, key: int, side: int) -> Level:
        level = levels[key] = Level()
        heappush(self._bid_keys if side == BUY else self._ask_keys, key)
        return level

    def _rest(self, rec: Rec) -> None:
        price = rec[PRICE]
        side = rec[SIDE]
        if side == BUY:
            levels, key = self._bids, -price
        else:
            levels, key = self._asks, price
        level = levels.get(key)
        if level is None:
            level = self._new_level(levels, key, side)
        level.orders.append(rec)
        level.total += rec[LOTS]
        self._orders[rec[OID]] = rec
        self.events.append((RESTED, rec[OID], side, price, rec[LOTS], rec[SEQ]))

    def _unbook(self, rec: Rec) -> None:
        """Account for a resting record just popped from `_orders` (its ticket goes lazily)."""
        if rec[SIDE] == BUY:
            self._bids[-rec[PRICE]].drop(rec[LOTS], self._orders)
        else:
            self._asks[rec[PRICE]].drop(rec[LOTS], self._orders)

    def _status(self, oid: int, status: str, reason: str, filled: int, released: int) -> None:
        self.events.append((STATUS, oid, status, reason, filled, released))

    def _reject(self, oid: int, reason: str, hold: int) -> None:
        self.events.append((STATUS, oid, REJECTED, reason, 0, hold))

    def _end_sibling(self, link: int, status: str, reason: str, release: bool = True) -> Rec:
        """End the OCO leg `link` (a waiting stop, or a resting limit leg) and return it.

        The pair's hold sits on the limit leg: it is released here unless `release` is False
        (the stop leg fired and takes the hold over).
        """
        sibling = self._stops.pop(link, None)
        if sibling is None:
            sibling = self._orders.pop(link)
            self._unbook(sibling)
        released = sibling[HOLD] if release else 0
        self._status(link, status, reason, sibling[ORIG] - sibling[LOTS], released)
        return sibling

    def _best_price(self, side: int) -> int:
        """Best live price on `side`, or 0 if that side is empty."""
        if side == BUY:
            key = top_key(self._bids, self._bid_keys)
            return 0 if key == EMPTY_KEY else -key
        key = top_key(self._asks, self._ask_keys)
        return 0 if key == EMPTY_KEY else key

    def _expire_maker(self, maker: Rec, level: Level) -> None:
        """STP expiry of the maker whose ticket is at the front of `level`."""
        level.orders.popleft()
        level.total -= maker[LOTS]
        del self._orders[maker[OID]]
        self._status(maker[OID], EXPIRED, STP_EXPIRED, maker[ORIG] - maker[LOTS], maker[HOLD])
        if maker[LINK]:
            self._end_sibling(maker[LINK], EXPIRED, OCO_SIBLING_ENDED)

    def _match(self, taker: Rec, limit_key: int, stp: int, budget: int, now: int) -> str:
        """Fill `taker` against the other side at keys <= limit_key, best first.

        Args:
            taker: the taker's record (its LOTS, HOLD, PRICE and identity are read).
            limit_key: worst acceptable key (price for a buy, -price for a sell).
            stp: the taker's self-trade prevention mode.
            budget: quote units the taker may still trade (spend or receive); -1 = no cap.
            now: time stamp for the trade records.

        Returns:
            Why it stopped early: NO_REASON (filled, or nothing left at acceptable prices),
            STP_EXPIRED or HOLD_EXHAUSTED (the budget cannot pay one more lot). The open lots,
            hold and budget left are in `_rem`, `_hold` and `_budget_left`.
        """
        side = taker[SIDE]
        buy = side == BUY
        if buy:
            levels, heap, sign = self._asks, self._ask_keys, 1
        else:
            levels, heap, sign = self._bids, self._bid_keys, -1
        events = self.events
        orders = self._orders
        tick_lot, lot, mk_num2, mk_den, mk_den2, tk_num2, tk_den, tk_den2 = self._match_consts
        oid = taker[OID]
        owner = taker[OWNER]
        limit = taker[PRICE]
        rem = taker[LOTS]
        hold = taker[HOLD]
        first = last = 0
        reason = NO_REASON
        while rem and heap:
            key = heap[0]
            if key > limit_key:
                break
            level = levels[key]
            queue = level.orders
            price = key * sign
            cost = price * tick_lot
            while rem and queue:
                ticket = queue[0]
                mid = ticket[OID]
                maker = orders.get(mid)
                if maker is not ticket and (maker is None or maker[SEQ] != ticket[SEQ]):
                    queue.popleft()  # canceled or ended: lazy removal
                    level.dead -= 1
                    continue
                if maker[OWNER] == owner and stp != STP_NONE:
                    if stp == STP_EXPIRE_TAKER:
                        reason = STP_EXPIRED
                        break
                    self._expire_maker(maker, level)
                    if stp == STP_EXPIRE_BOTH:
                        reason = STP_EXPIRED
                        break
                    continue
                avail = maker[LOTS]
                n = avail if avail < rem else rem
                if budget >= 0:
                    if budget < n * cost:
                        n = budget // cost
                        if not n:
                            reason = HOLD_EXHAUSTED
                            break
                    budget -= n * cost
                quote = n * cost
                base = n * lot
                if buy:
                    maker_fee = (quote * mk_num2 + mk_den) // mk_den2
                    taker_fee = (base * tk_num2 + tk_den) // tk_den2
                    maker_used = base
                    taker_used = quote
                    # A limit buy locked its own price; a lower maker price frees the rest now.
                    taker_freed = (limit - price) * n * tick_lot if limit else 0
                else:
                    maker_fee = (base * mk_num2 + mk_den) // mk_den2
                    taker_fee = (quote * tk_num2 + tk_den) // tk_den2
                    maker_used = quote
                    taker_used = base
                    taker_freed = 0
                hold -= taker_used + taker_freed
                rem -= n
                left = avail - n
                level.total -= n
                events.append((
                    TRADE, mid, oid, maker[OWNER], owner, side, price, n, base, quote,
                    maker_fee, taker_fee, maker_used, 0, taker_used, taker_freed, now,
                ))  # fmt: skip
                if not first:
                    first = price
                last = price
                if left:
                    # The limit leg of an OCO loses its link at its first fill (below).
                    orders[mid] = (
                        mid, maker[OWNER], maker[SIDE], maker[PRICE], left, maker[ORIG],
                        maker[HOLD] - maker_used, maker[SEQ], NO_LINK,
                    )  # fmt: skip
                    if avail == maker[ORIG]:
                        events.append((STATUS, mid, PARTIALLY_FILLED, NO_REASON, n, 0))
                else:
                    queue.popleft()
                    del orders[mid]
                    freed = maker[HOLD] - maker_used
                    events.append((STATUS, mid, FILLED, NO_REASON, maker[ORIG], freed))
                if maker[LINK]:
                    self._end_sibling(maker[LINK], EXPIRED, OCO_SIBLING_FILLED)
            if reason:
                break
            if not level.total:
                del levels[key]
                heappop(heap)
        self._rem = rem
        self._hold = hold
        self._budget_left = budget
        if first:
            self._last = last
            low, high = (first, last) if buy else (last, first)
            rising, falling = self._rising, self._falling
            if (rising and rising[0][0] <= high) or (falling and -falling[0][0] >= low):
                self._collect_fired(low, high, side, now)
        return reason

    def _collect_fired(self, low: int, high: int, taker_side: int, now: int) -> None:
        """Move the stops reached by trade prices in [low, high] to the fired queue.

        Order: the direction the taker's prices moved first (a buy sweeps upward from its lowest
        fill, so falling stops are reached before rising ones), then nearest stop, then arrival.
        """
        if taker_side == BUY:
            self._pop_fired(self._falling, -low, low, now)
            self._pop_fired(self._rising, high, high, now)
        else:
            self._pop_fired(self._rising, high, high, now)
            self._pop_fired(self._falling, -low, low, now)

    def _pop_fired(self, heap: list[StopEntry], bound: int, price: int, now: int) -> None:
        stops = self._stops
        while heap and heap[0][0] <= bound:
            _key, seq, oid = heappop(heap)
            rec = stops.get(oid)
            if rec is None or rec[SEQ] != seq:
                continue  # canceled or ended earlier: lazy removal from the heap
            del stops[oid]
            hold = rec[HOLD]
            if rec[LINK]:
                # OCO: the limit leg goes first and hands the pair's one hold over.
                leg = self._end_sibling(rec[LINK], EXPIRED, OCO_SIBLING_TRIGGERED, release=False)
                hold = leg[HOLD]
            self.events.append((TRIGGERED, oid, price, hold, now))
            self._fired.append((
                oid, rec[OWNER], rec[SIDE], rec[PRICE], rec[LOTS], rec[ORIG], hold, seq, NO_LINK,
                rec[STOP], rec[RISES], rec[TIF], rec[STP],
            ))  # fmt: skip
