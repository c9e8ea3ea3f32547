"""Price levels of one book side: a dict of FIFO levels plus a heap of their keys, best first.

Both sides are keyed so that the smallest key is the best price: asks by price, bids by -price.
A key is in the heap exactly when its level is in the dict. A level whose orders were all canceled
stays (empty) until it reaches the top, where `top_key` drops it: removing an arbitrary key from a
heap costs O(n), dropping it at the top costs O(log n).

A level holds "tickets": the record an order had when it was booked. The order's current record
lives in the engine's id -> record dict; a ticket is live while that record has the ticket's SEQ
(fills and amends keep SEQ), so cancel is a dict pop and the ticket is dropped lazily.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop
from itertools import groupby
from operator import itemgetter
from typing import Final

from backend.domain.spot.orders import (
    BUY,
    LOTS,
    OID,
    OWNER,
    PRICE,
    SEQ,
    SIDE,
    STP_EXPIRE_MAKER,
    STP_NONE,
    Rec,
)

EMPTY_KEY: Final = 1 << 62
"""`top_key` of an empty side: above every key and every limit key."""

COMPACT_MIN: Final = 64
"""Dead tickets a level tolerates before compaction is considered."""

Orders = dict[int, Rec]


class Level:
    """Tickets at one price in time priority; `total` counts live lots, `dead` stale tickets."""

    __slots__ = ("dead", "orders", "total")

    def __init__(self) -> None:
        self.total = 0
        self.dead = 0
        self.orders: deque[Rec] = deque()

    def drop(self, lots: int, orders: Orders) -> None:
        """Account for one of its orders just removed from `orders` (canceled or ended)."""
        total = self.total - lots
        self.total = total
        if not total:
            self.clear()
            return
        self.dead += 1
        if self.dead > COMPACT_MIN and self.dead > total:
            self.compact(orders)

    def compact(self, orders: Orders) -> None:
        """Drop stale tickets once they outnumber the live lots (so the live tickets too): a
        level that never trades at its front cannot grow without bound under cancel churn, and
        the O(tickets) pass is paid by as many cancels (amortized O(1) per cancel)."""
        self.orders = deque([ticket for ticket in self.orders if current(ticket, orders)])
        self.dead = 0

    def clear(self) -> None:
        self.orders.clear()
        self.dead = 0


Side = dict[int, Level]


def current(ticket: Rec, orders: Orders) -> Rec | None:
    """The order's current record if the ticket is still live, else None."""
    rec = orders.get(ticket[OID])
    if rec is None or rec[SEQ] != ticket[SEQ]:
        return None
    return rec


def top_key(levels: Side, heap: list[int]) -> int:
    """Best live key of a side, dropping empty levels on the way; EMPTY_KEY if none."""
    while heap:
        key = heap[0]
        if levels[key].total:
            return key
        del levels[key]
        heappop(heap)
    return EMPTY_KEY


def fillable(levels: Side, orders: Orders, limit_key: int, lots: int, owner: int, stp: int) -> bool:
    """Dry run for FOK: could a taker get `lots` at keys <= limit_key, given its STP mode?

    Mirrors the matching loop: an own maker is skipped under EXPIRE_MAKER (it would be expired),
    and stops the taker under EXPIRE_TAKER / EXPIRE_BOTH.
    """
    need = lots
    for key in sorted(k for k in levels if k <= limit_key):
        for ticket in levels[key].orders:
            rec = current(ticket, orders)
            if rec is None:
                continue
            if stp != STP_NONE and rec[OWNER] == owner:
                if stp == STP_EXPIRE_MAKER:
                    continue
                return False
            need -= rec[LOTS]
            if need <= 0:
                return True
    return False


def depth_levels(levels: Side, sign: int, depth: int) -> list[tuple[int, int]]:
    """Aggregated (price, lots) best first, at most `depth` levels; sign is -1 for bids."""
    out: list[tuple[int, int]] = []
    if depth <= 0:
        return out
    for key in sorted(levels):
        total = levels[key].total
        if total:
            out.append((key * sign, total))
            if len(out) == depth:
                break
    return out


def stack_levels(bids: Side, asks: Side, book: list[Rec]) -> set[Level]:
    """Put resting records into their sides' levels, a run of one level at a time (each run as
    one deque, its lots summed in C); returns the levels that are not in time priority (met in
    more than one run, or a run out of order), whose tickets the caller must sort by SEQ."""
    unordered: set[Level] = set()
    seq_of = itemgetter(SEQ)
    for (side, price), run in groupby(book, itemgetter(SIDE, PRICE)):
        levels, key = (bids, -price) if side == BUY else (asks, price)
        level = levels.get(key)
        if level is None:
            level = levels[key] = Level()
        elif level.orders:
            unordered.add(level)
        tickets = list(run)
        seqs = list(map(seq_of, tickets))
        if seqs != sorted(seqs):
            unordered.add(level)
        level.orders.extend(tickets)
        level.total += sum(map(itemgetter(LOTS), tickets))
    return unordered


def live_orders(levels: Side, orders: Orders) -> list[Rec]:
    """Current records of a side in priority order (best price first, then time)."""
    out: list[Rec] = []
    for key in sorted(levels):
        for ticket in levels[key].orders:
            rec = current(ticket, orders)
            if rec is not None:
                out.append(rec)
    return out
