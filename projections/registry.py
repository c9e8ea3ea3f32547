"""Every projection the workers run, by name (explicit, greppable)."""

from __future__ import annotations

from projections.base import Projection
from projections.ledger.balances import BalancesProjection
from projections.ledger.entries import LedgerEntriesProjection

PROJECTIONS: dict[str, Projection] = {
    p.name: p for p in (LedgerEntriesProjection(), BalancesProjection())
}
