"""Per-user balances, and a live notification of each change for `myBalances` subscribers."""

from __future__ import annotations

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import balances_view
from projections.base import Outbox, Window
from projections.ledger.postings import TRANSFER_POSTED, USER_POSTINGS

# One statement for a whole window, straight from the stored payloads: the deltas summed per
# (user, asset) with the position of the last event touching it in log order (the greatest
# [xact_id, position] pair: a plain aggregate, so the rows are hashed, not sorted), applied in
# key order (so concurrent runners could never deadlock), each row's final state returned for
# publishing.
_UPSERT = text(
    "INSERT INTO balances_view (user_id, asset, available, locked, position)"
    " SELECT p.user_id, p.asset,"
    "  coalesce(sum(p.amount) FILTER (WHERE p.kind = 'available'), 0),"
    "  coalesce(sum(p.amount) FILTER (WHERE p.kind = 'locked'), 0),"
    "  (max(ARRAY[e.xact_id::text::bigint, e.position]))[2]"
    f" FROM {USER_POSTINGS} AND p.kind IN ('available', 'locked')"
    " GROUP BY p.user_id, p.asset ORDER BY p.user_id, p.asset"
    " ON CONFLICT (user_id, asset) DO UPDATE SET"
    "   available = balances_view.available + EXCLUDED.available,"
    "   locked = balances_view.locked + EXCLUDED.locked,"
    "   position = EXCLUDED.position"
    " RETURNING user_id, asset, available, locked, position"
)


def balances_channel(user_id: str) -> str:
    return f"user:{user_id}:balances"


class BalancesProjection:
    """Subscribers get each touched balance once per window, at its state after the window."""

    name = "balances"
    tables: tuple[Table, ...] = (balances_view,)
    event_types: tuple[str, ...] = (TRANSFER_POSTED,)

    async def apply_window(self, conn: AsyncConnection, window: Window, outbox: Outbox) -> None:
        for row in await conn.execute(_UPSERT, window.params()):
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
