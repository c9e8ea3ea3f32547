"""How LIMIT and MARKET orders take liquidity and end: TIF, post-only, FOK, protection, cascades."""

from __future__ import annotations

from backend.domain.spot.book import fillable, top_key
from backend.domain.spot.core import EngineCore
from backend.domain.spot.events import (
    EXPIRED,
    FILLED,
    FOK_NOT_FILLABLE,
    HOLD_EXHAUSTED,
    IOC_UNFILLED,
    MARKET_PROTECTION,
    NO_LIQUIDITY,
    NO_REASON,
    PARTIALLY_FILLED,
    POST_ONLY_WOULD_TAKE,
    STP_EXPIRED,
)
from backend.domain.spot.orders import (
    BUY,
    FOK,
    GTC,
    HOLD,
    IOC,
    LOTS,
    MARKET_TIF,
    NO_LINK,
    OID,
    ORIG,
    OWNER,
    PRICE,
    SEQ,
    SIDE,
    STP,
    TIF,
    Rec,
)
from backend.domain.spot.units import protection_bounds


class TakerPaths(EngineCore):
    """Execution of an order that may take: new LIMIT/MARKET orders and triggered stops."""

    def _exec_limit(self, rec: Rec, tif: int, post_only: bool, stp: int, now: int) -> None:
        oid = rec[OID]
        if rec[SIDE] == BUY:
            levels, heap, limit_key = self._asks, self._ask_keys, rec[PRICE]
        else:
            levels, heap, limit_key = self._bids, self._bid_keys, -rec[PRICE]
        if (post_only or tif == FOK) and top_key(levels, heap) <= limit_key:
            if post_only:
                self._reject(oid, POST_ONLY_WOULD_TAKE, rec[HOLD])
                return
            # FOK: dry run first, so a failing FOK has no effect (no trades, no STP expiries).
            if not fillable(levels, self._orders, limit_key, rec[LOTS], rec[OWNER], stp):
                self._status(oid, EXPIRED, FOK_NOT_FILLABLE, 0, rec[HOLD])
                return
        if heap:
            reason = self._match(rec, limit_key, stp, -1, now)
            lots, hold = self._rem, self._hold
        else:
            reason, lots, hold = NO_REASON, rec[LOTS], rec[HOLD]
        orig = rec[ORIG]
        if not lots:
            self._status(oid, FILLED, NO_REASON, orig, hold)
        elif reason:
            self._status(oid, EXPIRED, reason, orig - lots, hold)
        elif tif == GTC:
            if lots != orig:
                self._status(oid, PARTIALLY_FILLED, NO_REASON, orig - lots, 0)
            self._rest(
                (oid, rec[OWNER], rec[SIDE], rec[PRICE], lots, orig, hold, rec[SEQ], NO_LINK)
            )
        else:
            reason = IOC_UNFILLED if tif == IOC else FOK_NOT_FILLABLE
            self._status(oid, EXPIRED, reason, orig - lots, hold)

    def _exec_market(self, rec: Rec, quote: int, stp: int, now: int) -> None:
        """MARKET by lots (quote == 0) or by a quote amount to spend (buy) / receive (sell).

        A buy by lots can spend at most its hold. Fills stay within the protection band around the
        last trade price (the best opposite price before the first trade); the rest expires.
        """
        oid, side, orig = rec[OID], rec[SIDE], rec[ORIG]
        ref = self._last or self._best_price(1 - side)
        if not ref:
            self._status(oid, EXPIRED, NO_LIQUIDITY, 0, rec[HOLD])
            return
        low, high = protection_bounds(self.spec, ref)
        if quote:
            budget = quote
        else:
            budget = rec[HOLD] if side == BUY else -1
        reason = self._match(rec, high if side == BUY else -low, stp, budget, now)
        lots, hold = self._rem, self._hold
        if reason == STP_EXPIRED:
            status = EXPIRED
        elif quote and (reason == HOLD_EXHAUSTED or not self._budget_left):
            # The quote amount cannot pay one more whole lot: done, as close as lot size allows.
            status, reason = FILLED, NO_REASON
        elif not lots:
            # A sell by quote amount that sold all its held base ran out of hold, not of target.
            status, reason = (EXPIRED, HOLD_EXHAUSTED) if quote else (FILLED, NO_REASON)
        elif reason:
            status = EXPIRED
        else:
            status = EXPIRED
            reason = MARKET_PROTECTION if self._best_price(1 - side) else NO_LIQUIDITY
        self._status(oid, status, reason, orig - lots, hold)

    def _run_fired(self, now: int) -> None:
        """Execute triggered stops one by one; their trades may fire more (appended in order)."""
        fired = self._fired
        while fired:
            rec = fired.popleft()
            self._seq += 1
            # Time priority starts when the stop becomes a working order.
            rec = (*rec[:7], self._seq, *rec[8:])
            tif = rec[TIF]
            if tif == MARKET_TIF:
                self._exec_market(rec, 0, rec[STP], now)
            else:
                self._exec_limit(rec, tif, False, rec[STP], now)
