"""Per-user balances, and a live notification of each change for `myBalances` subscribers."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import StoredEvent
from backend.db.tables import balances_view
from projections.base import Apply, Outbox

_UPSERT = text(
    "INSERT INTO balances_view (user_id, asset, available, locked, position)"
    " VALUES (:user_id, :asset, :available, :locked, :position)"
    " ON CONFLICT (user_id, asset) DO UPDATE SET"
    "   available = balances_view.available + EXCLUDED.available,"
    "   locked = balances_view.locked + EXCLUDED.locked,"
    "   position = EXCLUDED.position"
    " RETURNING user_id, asset, available, locked, position"
)


def balances_channel(user_id: str) -> str:
    return f"user:{user_id}:balances"


async def _on_transfer(conn: AsyncConnection, event: StoredEvent, outbox: Outbox) -> None:
    deltas: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {"available": Decimal(0), "locked": Decimal(0)}
    )
    for p in event.data["postings"]:
        if p["user_id"] is not None and p["kind"] in ("available", "locked"):
            deltas[(p["user_id"], p["asset"])][p["kind"]] += Decimal(p["amount"])
    for (user_id, asset), delta in sorted(deltas.items()):
        row = (
            await conn.execute(
                _UPSERT, {"user_id": user_id, "asset": asset, "position": event.position, **delta}
            )
        ).one()
        outbox.publish(
            balances_channel(user_id),
            orjson.dumps(
                {
                    "asset": asset,
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
