"""Idempotency keys: a retried command returns its first result; the same key with other input
is refused. The key row is written in the command's own transaction, so it exists exactly when
the command's effects do."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import idempotency_keys
from backend.domain.errors import IdempotencyKeyReused, InvalidInput


def request_hash(command_name: str, payload: dict[str, Any]) -> str:
    body = orjson.dumps(
        {"command": command_name, **payload}, option=orjson.OPT_SORT_KEYS, default=str
    )
    return hashlib.sha256(body).hexdigest()


def check_key(key: str, field: str = "idempotencyKey") -> str:
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise InvalidInput(field, f"{field} must be 1 to 128 printable characters")
    return key


async def claim(
    conn: AsyncConnection, scope: str, key: str, command_name: str, fingerprint: str
) -> dict[str, Any] | None:
    """Claim `key` for this command. Returns the stored result if it was already used for the same
    request; raises IdempotencyKeyReused for a different one; None if this is the first use.

    A concurrent first use waits on the primary key until the other transaction ends, then sees
    its row: two racing retries never both execute.
    """
    inserted = await conn.execute(
        insert(idempotency_keys)
        .values(scope=scope, key=key, command=command_name, request_hash=fingerprint, result={})
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if inserted.first() is not None:
        return None
    row = (
        await conn.execute(
            select(
                idempotency_keys.c.command,
                idempotency_keys.c.request_hash,
                idempotency_keys.c.result,
            ).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        )
    ).one()
    if row.command != command_name or row.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    result: dict[str, Any] = row.result
    return result


async def remember(conn: AsyncConnection, scope: str, key: str, result: dict[str, Any]) -> None:
    await conn.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(result=result)
    )
