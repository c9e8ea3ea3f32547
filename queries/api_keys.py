"""API keys: a user's list, and the lookup that authenticates a signed request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.api_key_tables import api_keys
from backend.db.tables import users
from queries.views import UserView

SCOPES = ("READ", "TRADE", "WITHDRAW")


@dataclass(frozen=True)
class ApiKeyView:
    id: uuid.UUID
    user_id: uuid.UUID
    label: str
    scopes: tuple[str, ...]
    ip_allowlist: tuple[str, ...]
    market_maker: bool
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ApiKeyCredentials:
    """What checking a signed request needs: the key, its sealed secret and its owner."""

    key: ApiKeyView
    secret_sealed: str
    owner: UserView


def _view(row: object) -> ApiKeyView:
    r = row
    return ApiKeyView(
        r.id,  # type: ignore[attr-defined]
        r.user_id,  # type: ignore[attr-defined]
        r.label,  # type: ignore[attr-defined]
        tuple(r.scopes),  # type: ignore[attr-defined]
        tuple(r.ip_allowlist),  # type: ignore[attr-defined]
        r.market_maker,  # type: ignore[attr-defined]
        r.created_at,  # type: ignore[attr-defined]
        r.revoked_at,  # type: ignore[attr-defined]
    )


async def list_api_keys(
    conn: AsyncConnection, user_id: uuid.UUID, include_revoked: bool = False
) -> list[ApiKeyView]:
    query = select(api_keys).where(api_keys.c.user_id == user_id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    rows = await conn.execute(query.order_by(api_keys.c.created_at, api_keys.c.id))
    return [_view(r) for r in rows]


async def get_api_key(conn: AsyncConnection, key_id: uuid.UUID) -> ApiKeyView | None:
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return _view(row) if row else None


async def api_key_credentials(conn: AsyncConnection, key_id: uuid.UUID) -> ApiKeyCredentials | None:
    """The live (not revoked) key with this id, or None."""
    row = (
        await conn.execute(
            select(
                api_keys,
                users.c.email,
                users.c.role,
                users.c.status,
                users.c.created_at.label("user_created_at"),
            )
            .join(users, users.c.id == api_keys.c.user_id)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    owner = UserView(row.user_id, row.email, row.role, row.status, row.user_created_at)
    return ApiKeyCredentials(_view(row), row.secret_sealed, owner)
