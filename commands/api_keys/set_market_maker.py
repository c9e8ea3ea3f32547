"""Admin: put an API key in (or out of) the market-maker rate-limit tier, with a reason."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update

from backend.db.api_key_tables import api_keys
from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.domain.errors import InvalidInput, NotFound
from commands.unit_of_work import UnitOfWork
from queries.api_keys import get_api_key


@dataclass(frozen=True)
class SetApiKeyMarketMaker:
    key_id: uuid.UUID
    market_maker: bool
    reason: str


async def set_api_key_market_maker(cmd: SetApiKeyMarketMaker, uow: UnitOfWork) -> uuid.UUID:
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidInput("reason", "give a reason")
    key = await get_api_key(uow.conn, cmd.key_id)
    if key is None:
        raise NotFound("no such API key")
    if key.market_maker == cmd.market_maker:
        return cmd.key_id
    await uow.conn.execute(
        update(api_keys).where(api_keys.c.id == cmd.key_id).values(market_maker=cmd.market_maker)
    )
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{key.user_id}",
                "admin.api_key_tier_changed",
                {"id": str(cmd.key_id), "market_maker": cmd.market_maker, "reason": reason},
            )
        ],
    )
    await record_audit(
        uow.conn,
        "api_key.set_market_maker",
        f"api_key:{cmd.key_id}",
        reason=reason,
        before={"market_maker": key.market_maker},
        after={"market_maker": cmd.market_maker},
    )
    return cmd.key_id
