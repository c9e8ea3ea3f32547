"""Price levels of one book side: a dict of FIFO levels plus a heap of their keys, best first.

Both sides are keyed so that the smallest key is the best price: asks by price, bids by -price.
A key is in the heap exactly when its level is in the dict. A level whose orders were all canceled
stays (empty) until it reaches the top, where `top_key` drops it: removing an arbitrary key from a
heap costs O(n), dropping it at the top costs O(log n).
"""

from __future__ import annotations

from collections import deque
from heapq import heappop
from typing import Final

from backend.domain.spot.orders import LOTS, OWNER, STP_EXPIRE_MAKER, STP_NONE

EMPTY_KEY: Final = 1 << 62
"""`top_key` of an empty side: above every key and every limit key."""

_COMPACT_MIN: Final = 64


class Level:
    """Orders at one price in time priority. Canceled records stay in `orders` with LOTS = 0
    until they reach the front (lazy removal keeps cancel O(1)); `total` counts live lots only."""

    __slots__ = ("dead", "orders", "total")

    def __init__(self) -> None:
        self.total = 0
        self.dead = 0
        self.orders: deque[list[int]] = deque()

    def drop_canceled(self, lots: int) -> None:
        """Account for one record just canceled in place (its LOTS already set to 0)."""
        total = self.total - lots
        self.total = total
        if not total:
            self.orders.clear()
            self.dead = 0
            return
        dead = self.dead + 1
        # Compact once dead records are the majority, so a level that never trades at its front
        # cannot grow without bound under cancel churn; amortized O(1) per cancel.
        if dead > _COMPACT_MIN and dead * 2 > len(self.orders):
            self.orders = deque([rec for rec in self.orders if rec[LOTS]])
            dead = 0
        self.dead = dead


Side = dict[int, Level]


def top_key(levels: Side, heap: list[int]) -> int:
    """Best live key of a side, dropping empty levels on the way; EMPTY_KEY if none."""
    while heap:
        key = heap[0]
        if levels[key].total:
            return key
        del levels[key]
        heappop(heap)
    return EMPTY_KEY


def fillable(levels: Side, limit_key: int, lots: int, owner: int, stp: int) -> bool:
    """Dry run for FOK: could a taker get `lots` at keys <= limit_key, given its STP mode?

    Mirrors the matching loop: an own maker is skipped under EXPIRE_MAKER (it would be expired),
    and stops the taker under EXPIRE_TAKER / EXPIRE_BOTH.
    """
    need = lots
    for key in sorted(k for k in levels if k <= limit_key):
        for rec in levels[key].orders:
            avail = rec[LOTS]
            if not avail:
                continue
            if stp != STP_NONE and rec[OWNER] == owner:
                if stp == STP_EXPIRE_MAKER:
                    continue
                return False
            need -= avail
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


def live_orders(levels: Side) -> list[list[int]]:
    """Live records of a side in priority order (best price first, then time)."""
    return [rec for key in sorted(levels) for rec in levels[key].orders if rec[LOTS]]
