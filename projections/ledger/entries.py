"""Account statements: one row per user account touched by a transfer."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import StoredEvent
from backend.db.tables import ledger_entries_view
from projections.base import Apply, ApplyBatch, Outbox


def _rows(event: StoredEvent) -> list[dict[str, object]]:
    return [
        {
            "position": event.position,
            "account_id": p["account_id"],
            "user_id": p["user_id"],
            "asset": p["asset"],
            "kind": p["kind"],
            "amount": Decimal(p["amount"]),
            "transfer_id": event.data["transfer_id"],
            "transfer_kind": event.data["kind"],
            "recorded_at": event.recorded_at,
        }
        for p in event.data["postings"]
        if p["user_id"] is not None
    ]


async def _on_transfer(conn: AsyncConnection, event: StoredEvent, outbox: Outbox) -> None:
    await _on_transfers(conn, [event], outbox)


async def _on_transfers(conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox) -> None:
    rows = [row for event in events for row in _rows(event)]
    if rows:
        await conn.execute(insert(ledger_entries_view).on_conflict_do_nothing(), rows)


class LedgerEntriesProjection:
    name = "ledger_entries"
    tables: tuple[Table, ...] = (ledger_entries_view,)
    handlers: dict[str, Apply] = {"ledger.transfer_posted": _on_transfer}
    apply_batch: ApplyBatch = staticmethod(_on_transfers)
