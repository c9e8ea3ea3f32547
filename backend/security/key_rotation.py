"""Master-key rotation: every sealed secret re-wrapped under the current master key.

The operator puts a new key first in EXCHANGE_MASTER_KEYS and keeps the old ones, restarts the
services (they seal new secrets with the new key and still open old ones), then runs
`exchange rotate-keys`: rows are re-wrapped in small batches, each its own short transaction,
so nothing waits on it. When it reports nothing left, the old keys can be dropped.
Only the wrapped data key changes; the ciphertext and its context binding stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.api_key_tables import api_keys
from backend.db.two_factor_tables import totp_credentials
from backend.security.envelope import Envelope


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    key: Column[object]
    sealed: Column[str]


SEALED_COLUMNS = (
    SealedColumn(totp_credentials, totp_credentials.c.user_id, totp_credentials.c.secret_sealed),
    SealedColumn(api_keys, api_keys.c.id, api_keys.c.secret_sealed),
)
"""Every column holding an envelope-sealed secret (add new ones here, e.g. wallet keys)."""


async def rotate(engine: AsyncEngine, envelope: Envelope, batch: int = 500) -> dict[str, int]:
    """Re-wraps what the current master key does not wrap yet; returns rows re-wrapped per
    table. Safe to rerun and to run beside the services (a row sealed meanwhile is already on
    the current key; a row changed meanwhile is skipped by the compare-and-set)."""
    current = f"v1.{envelope.provider.current_key_id}."
    done: dict[str, int] = {}
    for column in SEALED_COLUMNS:
        done[column.table.name] = 0
        last: object = None
        while True:
            query = select(column.key, column.sealed).order_by(column.key).limit(batch)
            if last is not None:
                query = query.where(column.key > last)
            async with engine.begin() as conn:
                rows = (await conn.execute(query)).all()
                for key, sealed in rows:
                    if sealed.startswith(current):
                        continue
                    result = await conn.execute(
                        update(column.table)
                        .where(column.key == key, column.sealed == sealed)
                        .values({column.sealed.name: envelope.rewrap(sealed)})
                    )
                    done[column.table.name] += result.rowcount
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return done


async def remaining(engine: AsyncEngine, envelope: Envelope) -> int:
    """Sealed values not yet on the current master key."""
    current = f"v1.{envelope.provider.current_key_id}.%"
    total = 0
    async with engine.connect() as conn:
        for column in SEALED_COLUMNS:
            stale = select(func.count()).where(column.sealed.not_like(current))
            total += int((await conn.execute(stale.select_from(column.table))).scalar_one())
    return total
