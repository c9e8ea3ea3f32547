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
    REJECTED,
    STATUS,
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
    OID,
    ORIG,
    OWNER,
    PRICE,
    SEQ,
    SIDE,
    STP,
    TIF,
)
from backend.domain.spot.units import protection_bounds


class TakerPaths(EngineCore):
    """Execution of an order that may take: new LIMIT/MARKET orders and triggered stops."""

    def _exec_limit(self, rec: list[int], tif: int, post_only: bool, stp: int, now: int) -> None:
        if rec[SIDE] == BUY:
            levels, heap, limit_key = self._asks, self._ask_keys, rec[PRICE]
        else:
            levels, heap, limit_key = self._bids, self._bid_keys, -rec[PRICE]
        if top_key(levels, heap) > limit_key:
            if tif == GTC:
                self._rest(rec)
            else:
                self._end(rec, EXPIRED, IOC_UNFILLED if tif == IOC else FOK_NOT_FILLABLE)
            return
        if post_only:
            self._end(rec, REJECTED, POST_ONLY_WOULD_TAKE)
            return
        # FOK: dry run first, so a failing FOK has no effect at all (no trades, no STP expiries).
        if tif == FOK and not fillable(levels, limit_key, rec[LOTS], rec[OWNER], stp):
            self._end(rec, EXPIRED, FOK_NOT_FILLABLE)
            return
        reason = self._match(rec, limit_key, stp, -1, now)
        if not rec[LOTS]:
            self._end(rec, FILLED, NO_REASON)
        elif reason:
            self._end(rec, EXPIRED, reason)
        elif tif == GTC:
            self.events.append(
                (STATUS, rec[OID], PARTIALLY_FILLED, NO_REASON, rec[ORIG] - rec[LOTS], 0)
            )
            self._rest(rec)
        else:
            self._end(rec, EXPIRED, IOC_UNFILLED if tif == IOC else FOK_NOT_FILLABLE)

    def _exec_market(self, rec: list[int], quote: int, stp: int, now: int) -> None:
        """MARKET by lots (quote == 0) or by a quote amount to spend (buy) / receive (sell).

        A buy by lots can spend at most its hold. Fills stay within the protection band around the
        last trade price (the best opposite price before the first trade); the rest expires.
        """
        side = rec[SIDE]
        ref = self._last or self._best_price(1 - side)
        if not ref:
            self._end(rec, EXPIRED, NO_LIQUIDITY)
            return
        low, high = protection_bounds(self.spec, ref)
        if quote:
            budget = quote
        else:
            budget = rec[HOLD] if side == BUY else -1
        reason = self._match(rec, high if side == BUY else -low, stp, budget, now)
        if reason == STP_EXPIRED:
            self._end(rec, EXPIRED, STP_EXPIRED)
        elif quote and (reason == HOLD_EXHAUSTED or not self._budget_left):
            # The quote amount cannot pay one more whole lot: done, as close as lot size allows.
            self._end(rec, FILLED, NO_REASON)
        elif not rec[LOTS]:
            # A sell by quote amount that sold all its held base ran out of hold, not of target.
            self._end(rec, EXPIRED if quote else FILLED, HOLD_EXHAUSTED if quote else NO_REASON)
        elif reason:
            self._end(rec, EXPIRED, reason)
        else:
            still = self._best_price(1 - side)
            self._end(rec, EXPIRED, MARKET_PROTECTION if still else NO_LIQUIDITY)

    def _run_fired(self, now: int) -> None:
        """Execute triggered stops one by one; their trades may fire more (appended in order)."""
        fired = self._fired
        while fired:
            rec = fired.popleft()
            self._seq += 1
            rec[SEQ] = self._seq  # time priority starts when the stop becomes a working order
            tif = rec[TIF]
            if tif == MARKET_TIF:
                self._exec_market(rec, 0, rec[STP], now)
            else:
                self._exec_limit(rec, tif, False, rec[STP], now)
