"""Balances, account statements and the reconciliation report."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from queries.views import BalanceView, LedgerEntryView, ReconciliationView

_BALANCES = text(
    "SELECT a.asset, s.precision,"
    " COALESCE(SUM(a.balance) FILTER (WHERE a.kind = 'available'), 0) AS available,"
    " COALESCE(SUM(a.balance) FILTER (WHERE a.kind = 'locked'), 0) AS locked"
    " FROM ledger_accounts a JOIN assets s ON s.code = a.asset"
    " WHERE a.user_id = :user_id GROUP BY a.asset, s.precision ORDER BY a.asset"
)


async def get_balances(conn: AsyncConnection, user_id: uuid.UUID) -> list[BalanceView]:
    """A user's balances straight from the ledger (the authoritative figures)."""
    rows = await conn.execute(_BALANCES, {"user_id": user_id})
    return [BalanceView(r.asset, r.precision, r.available, r.locked) for r in rows]


_BALANCES_VIEW = text(
    "SELECT b.asset, s.precision, b.available, b.locked, b.position FROM balances_view b"
    " JOIN assets s ON s.code = b.asset WHERE b.user_id = :user_id ORDER BY b.asset"
)


async def get_projected_balances(
    conn: AsyncConnection, user_id: uuid.UUID
) -> list[tuple[BalanceView, int]]:
    """The same figures from the balances projection, each with the event position it reflects
    (what live subscriptions start from)."""
    rows = await conn.execute(_BALANCES_VIEW, {"user_id": user_id})
    return [(BalanceView(r.asset, r.precision, r.available, r.locked), r.position) for r in rows]


_ENTRIES = text(
    "SELECT e.position, e.asset, s.precision, e.kind, e.amount, e.transfer_id, e.transfer_kind,"
    " e.recorded_at FROM ledger_entries_view e JOIN assets s ON s.code = e.asset"
    " WHERE e.user_id = :user_id AND (CAST(:before AS bigint) IS NULL OR e.position < :before)"
    " ORDER BY e.position DESC, e.account_id DESC LIMIT :limit"
)


async def list_ledger_entries(
    conn: AsyncConnection, user_id: uuid.UUID, before: int | None, limit: int
) -> list[LedgerEntryView]:
    """A user's statement, newest first, keyset-paginated by event position."""
    rows = await conn.execute(_ENTRIES, {"user_id": user_id, "before": before, "limit": limit})
    return [
        LedgerEntryView(
            r.position,
            r.asset,
            r.precision,
            r.kind,
            r.amount,
            r.transfer_id,
            r.transfer_kind,
            r.recorded_at,
        )
        for r in rows
    ]


# Three independently stored figures per asset must agree:
#   ledger_total   - the sum of postings into every non-external account,
#   balances_total - the sum of the stored balance column of those same accounts,
#   external_net   - what came in from outside: minus the external account's balance.
# Row by row, each account's balance must also equal the sum of its own postings, and every
# transfer's postings must sum to zero per asset.
_RECONCILIATION = text(
    """
    WITH posted AS (
        SELECT p.account_id, SUM(p.amount) AS total FROM postings p GROUP BY p.account_id
    ), per_account AS (
        SELECT a.asset, a.kind, a.balance, COALESCE(posted.total, 0) AS posted
        FROM ledger_accounts a LEFT JOIN posted ON posted.account_id = a.id
    ), unbalanced AS (
        SELECT a.asset, COUNT(*) AS n FROM (
            SELECT a.asset, p.transfer_id FROM postings p
            JOIN ledger_accounts a ON a.id = p.account_id
            GROUP BY a.asset, p.transfer_id HAVING SUM(p.amount) <> 0
        ) a GROUP BY a.asset
    )
    SELECT s.code AS asset, s.precision,
        COALESCE(SUM(pa.posted) FILTER (WHERE pa.kind <> 'external'), 0) AS ledger_total,
        COALESCE(SUM(pa.balance) FILTER (WHERE pa.kind <> 'external'), 0) AS balances_total,
        -COALESCE(SUM(pa.balance) FILTER (WHERE pa.kind = 'external'), 0) AS external_net,
        COUNT(*) FILTER (WHERE pa.balance <> pa.posted) AS mismatched_accounts,
        COALESCE(MAX(u.n), 0) AS unbalanced_transfers
    FROM assets s
    LEFT JOIN per_account pa ON pa.asset = s.code
    LEFT JOIN unbalanced u ON u.asset = s.code
    GROUP BY s.code, s.precision ORDER BY s.code
    """
)


async def reconcile(conn: AsyncConnection) -> list[ReconciliationView]:
    rows = await conn.execute(_RECONCILIATION)
    return [
        ReconciliationView(
            r.asset,
            r.precision,
            Decimal(r.ledger_total),
            Decimal(r.balances_total),
            Decimal(r.external_net),
            r.mismatched_accounts,
            r.unbalanced_transfers,
        )
        for r in rows
    ]
