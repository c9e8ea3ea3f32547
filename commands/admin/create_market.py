"""Create a market. The symbol is its client id: identical input again returns the same market."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import markets
from backend.domain.errors import AlreadyExists
from backend.domain.markets import MarketConfig, validate_market
from commands.admin.markets import asset_precision, load_market
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CreateMarket:
    config: MarketConfig


async def create_market(cmd: CreateMarket, uow: UnitOfWork) -> str:
    config = cmd.config
    base_precision = await asset_precision(uow.conn, config.base, "base")
    quote_precision = await asset_precision(uow.conn, config.quote, "quote")
    validate_market(config, base_precision, quote_precision)
    inserted = await uow.conn.execute(
        insert(markets)
        .values(**config.as_row())
        .on_conflict_do_nothing()
        .returning(markets.c.symbol)
    )
    if inserted.first() is None:
        existing = await load_market(uow.conn, config.symbol)
        if existing != config:
            raise AlreadyExists(f"market {config.symbol} exists with a different configuration")
        return config.symbol
    after = config.as_json()
    await append_events(
        uow.conn, [NewEvent(f"market:{config.symbol}", "admin.market_created", after)]
    )
    await record_audit(uow.conn, "market.create", f"market:{config.symbol}", after=after)
    return config.symbol
