"""Account statements: one row per user account touched by a transfer."""

from __future__ import annotations

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import ledger_entries_view
from projections.base import Outbox, Window
from projections.ledger.postings import TRANSFER_POSTED, USER_POSTINGS

# The whole window in one statement, straight from the stored payloads. A plain INSERT: the
# checkpoint moves in the same transaction, so no event is applied twice (a conflict clause made
# every row a speculative insertion, a third of the statement's cost); and no ORDER BY, as rows
# have no order in the table.
_INSERT = text(
    "INSERT INTO ledger_entries_view (position, account_id, user_id, asset, kind, amount,"
    " transfer_id, transfer_kind, recorded_at)"
    " SELECT e.position, p.account_id, p.user_id, p.asset, p.kind, p.amount,"
    "  e.data ->> 'transfer_id', e.data ->> 'kind', e.recorded_at"
    f" FROM {USER_POSTINGS}"
)


class LedgerEntriesProjection:
    name = "ledger_entries"
    tables: tuple[Table, ...] = (ledger_entries_view,)
    event_types: tuple[str, ...] = (TRANSFER_POSTED,)

    async def apply_window(self, conn: AsyncConnection, window: Window, outbox: Outbox) -> None:
        await conn.execute(_INSERT, window.params())
