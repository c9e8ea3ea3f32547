"""Audit records of admin and security actions: who, when, from where, what, why, before/after."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.tables import audit_log
from backend.request_context import current_request


async def record_audit(
    conn: AsyncConnection,
    action: str,
    target: str,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    ctx = current_request.get()
    await conn.execute(
        audit_log.insert().values(
            actor_id=uuid.UUID(ctx.actor_id) if ctx.actor_id else None,
            action=action,
            target=target,
            reason=reason,
            before=before,
            after=after,
            ip=ctx.ip,
            request_id=ctx.request_id or None,
        )
    )
