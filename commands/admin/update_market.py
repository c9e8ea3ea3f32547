"""Change a market's filters, fees or status; fields left out keep their value."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import markets
from backend.domain.errors import InvalidInput
from backend.domain.markets import MarketConfig, MarketStatus, validate_market
from commands.admin.markets import asset_precision, load_market
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class UpdateMarket:
    symbol: str
    changes: dict[str, Any]  # MarketConfig field name -> new value
    reason: str | None = None


FIXED = {"symbol", "base", "quote"}


async def update_market(cmd: UpdateMarket, uow: UnitOfWork) -> str:
    fixed = FIXED & {k for k, v in cmd.changes.items() if v is not None}
    if fixed:
        raise InvalidInput(sorted(fixed)[0], "a market's symbol and assets cannot change")
    before = await load_market(uow.conn, cmd.symbol, for_update=True)
    after: MarketConfig = replace(before, **{k: v for k, v in cmd.changes.items() if v is not None})
    validate_market(
        after,
        await asset_precision(uow.conn, after.base, "base"),
        await asset_precision(uow.conn, after.quote, "quote"),
    )
    if after == before:
        return cmd.symbol
    regrids = after.tick_size != before.tick_size or after.step_size != before.step_size
    if regrids and before.status is not MarketStatus.DISABLED:
        # Resting orders sit on the old price/quantity grid; change it only on an empty book.
        raise InvalidInput("tickSize", "tickSize and stepSize change only while DISABLED")
    row = after.as_row()
    await uow.conn.execute(
        markets.update()
        .where(markets.c.symbol == cmd.symbol)
        .values(**row, version=markets.c.version + 1, updated_at=func.now())
    )
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"market:{cmd.symbol}",
                "admin.market_updated",
                {"before": before.as_json(), "after": after.as_json(), "reason": cmd.reason},
            )
        ],
    )
    await record_audit(
        uow.conn,
        "market.update",
        f"market:{cmd.symbol}",
        reason=cmd.reason,
        before=before.as_json(),
        after=after.as_json(),
    )
    return cmd.symbol
