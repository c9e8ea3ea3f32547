"""Per-user balances, and a live notification of each change for `myBalances` subscribers."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import StoredEvent
from backend.db.tables import balances_view
from projections.base import Apply, ApplyBatch, Outbox

# One statement for a whole batch: the deltas summed per (user, asset), applied in key order
# (so concurrent runners could never deadlock), each row's final state returned for publishing.
_UPSERT = text(
    "INSERT INTO balances_view (user_id, asset, available, locked, position)"
    " SELECT * FROM unnest(CAST(:users AS uuid[]), CAST(:assets AS text[]),"
    "   CAST(:available AS numeric[]), CAST(:locked AS numeric[]), CAST(:positions AS bigint[]))"
    " ON CONFLICT (user_id, asset) DO UPDATE SET"
    "   available = balances_view.available + EXCLUDED.available,"
    "   locked = balances_view.locked + EXCLUDED.locked,"
    "   position = EXCLUDED.position"
    " RETURNING user_id, asset, available, locked, position"
)


def balances_channel(user_id: str) -> str:
    return f"user:{user_id}:balances"


async def _on_transfer(conn: AsyncConnection, event: StoredEvent, outbox: Outbox) -> None:
    await _on_transfers(conn, [event], outbox)


async def _on_transfers(conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox) -> None:
    """Subscribers get each touched balance once per batch, at its state after the batch."""
    deltas: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    positions: dict[tuple[str, str], int] = {}
    for event in events:
        for p in event.data["postings"]:
            if p["user_id"] is not None and p["kind"] in ("available", "locked"):
                key = (p["user_id"], p["asset"])
                deltas[key][p["kind"] == "locked"] += Decimal(p["amount"])
                positions[key] = event.position
    if not deltas:
        return
    keys = sorted(deltas)
    rows = await conn.execute(
        _UPSERT,
        {
            "users": [user for user, _ in keys],
            "assets": [asset for _, asset in keys],
            "available": [deltas[k][0] for k in keys],
            "locked": [deltas[k][1] for k in keys],
            "positions": [positions[k] for k in keys],
        },
    )
    for row in rows:
        outbox.publish(
            balances_channel(str(row.user_id)),
            orjson.dumps(
                {
                    "asset": row.asset,
                    "available": str(row.available),
                    "locked": str(row.locked),
                    "position": row.position,
                }
            ),
        )


class BalancesProjection:
    name = "balances"
    tables: tuple[Table, ...] = (balances_view,)
    handlers: dict[str, Apply] = {"ledger.transfer_posted": _on_transfer}
    apply_batch: ApplyBatch = staticmethod(_on_transfers)
