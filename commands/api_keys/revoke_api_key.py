"""Revoke one of my API keys: signed requests with it stop working at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, update

from backend.db.api_key_tables import api_keys
from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.domain.errors import NotFound
from commands.unit_of_work import UnitOfWork
from queries.api_keys import get_api_key


@dataclass(frozen=True)
class RevokeApiKey:
    user_id: uuid.UUID
    key_id: uuid.UUID


async def revoke_api_key(cmd: RevokeApiKey, uow: UnitOfWork) -> uuid.UUID:
    """Revoking a revoked key again is a harmless no-op; another user's key is NOT_FOUND (we do
    not tell whether it exists)."""
    key = await get_api_key(uow.conn, cmd.key_id)
    if key is None or key.user_id != cmd.user_id:
        raise NotFound("no such API key")
    revoked = await uow.conn.execute(
        update(api_keys)
        .where(api_keys.c.id == cmd.key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(api_keys.c.id)
    )
    if revoked.first() is None:
        return cmd.key_id
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{cmd.user_id}",
                "account.api_key_revoked",
                {"id": str(cmd.key_id), "label": key.label},
            )
        ],
    )
    await record_audit(
        uow.conn,
        "api_key.revoke",
        f"api_key:{cmd.key_id}",
        before={"revoked": False},
        after={"revoked": True},
    )
    return cmd.key_id
