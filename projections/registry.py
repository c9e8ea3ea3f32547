"""Every projection the workers run, by name (explicit, greppable)."""

from __future__ import annotations

from projections.base import Projection
from projections.ledger.balances import BalancesProjection
from projections.ledger.entries import LedgerEntriesProjection
from projections.spot.candles import CandlesProjection
from projections.spot.order_book import OrderBookProjection

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        LedgerEntriesProjection(),
        BalancesProjection(),
        OrderBookProjection(),
        CandlesProjection(),
    )
}
