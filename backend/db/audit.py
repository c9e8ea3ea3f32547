"""Audit records of admin and security actions: who, when, from where, what, why, before/after.

Each record is a link of a hash chain (backend/security/audit_hash.py). Appends are serialized
by the chain head's row lock, taken by the UPDATE that assigns the next id and held until the
caller's transaction ends, so concurrent writers queue up instead of forking the chain. Call
`record_audit` last in a command, just before commit, to keep that lock short.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import audit_chain_head, audit_log
from backend.request_context import current_request
from backend.security.audit_hash import AuditFields, normalize_json, record_hash

# Moves the head forward under its row lock; `last_hash` is still the predecessor's.
_ADVANCE_HEAD = text(
    "UPDATE audit_chain_head SET last_id = last_id + 1, updated_at = clock_timestamp()"
    " RETURNING last_id, last_hash, updated_at"
)


async def record_audit(
    conn: AsyncConnection,
    action: str,
    target: str,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> int:
    """Append one record in the caller's transaction; returns its id."""
    ctx = current_request.get()
    head = (await conn.execute(_ADVANCE_HEAD)).one()
    record = AuditFields(
        id=head.last_id,
        prev_hash=head.last_hash,
        occurred_at=head.updated_at,
        actor_id=uuid.UUID(ctx.actor_id) if ctx.actor_id else None,
        action=action,
        target=target,
        reason=reason,
        before=normalize_json(before),
        after=normalize_json(after),
        ip=ctx.ip,
        request_id=ctx.request_id or None,
    )
    digest = record_hash(record)
    await conn.execute(
        audit_log.insert().values(
            id=record.id,
            occurred_at=record.occurred_at,
            actor_id=record.actor_id,
            action=action,
            target=target,
            reason=reason,
            before=record.before,
            after=record.after,
            ip=record.ip,
            request_id=record.request_id,
            prev_hash=record.prev_hash,
            hash=digest,
        )
    )
    await conn.execute(audit_chain_head.update().values(last_hash=digest))
    return record.id
