"""Reading the audit log (newest first) for administrators."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import audit_log


@dataclass(frozen=True)
class AuditRecordView:
    id: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    target: str
    reason: str | None
    before: str | None  # JSON text
    after: str | None
    ip: str | None
    request_id: str | None
    prev_hash: str
    hash: str


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


async def list_audit_records(
    conn: AsyncConnection,
    *,
    before_id: int | None,
    limit: int,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
) -> list[AuditRecordView]:
    """Records by descending id (keyset: `before_id` is the last id of the previous page);
    the actor and action filters use their (column, id) indexes."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    return [
        AuditRecordView(
            r.id,
            r.occurred_at,
            r.actor_id,
            r.action,
            r.target,
            r.reason,
            _json(r.before),
            _json(r.after),
            r.ip,
            r.request_id,
            r.prev_hash,
            r.hash,
        )
        for r in await conn.execute(query)
    ]
