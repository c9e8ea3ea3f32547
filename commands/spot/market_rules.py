"""What a command needs to know about a market: its engine spec, status and last price.

One query reads the market row with its assets' precisions and last price. The parts built from
the row (config, engine spec) are kept per process and reused while the row's stamp (version,
updated_at) is unchanged: every admin change bumps both, so a stale copy is never used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.driver import fetch_one
from backend.domain.errors import AccountUnavailable, InvalidInput, MarketUnavailable, NotFound
from backend.domain.markets import MarketConfig, MarketStatus
from backend.domain.spot.units import MarketSpec
from queries.markets import market_from_row


@dataclass(frozen=True)
class MarketContext:
    config: MarketConfig
    spec: MarketSpec
    base_precision: int
    quote_precision: int
    last_price: Decimal | None


@dataclass(frozen=True)
class _Configured:
    """The part of a MarketContext that only an admin change of the market row can alter."""

    stamp: tuple[int, datetime]
    config: MarketConfig
    spec: MarketSpec
    base_precision: int
    quote_precision: int


_configured: dict[str, _Configured] = {}

_MARKET_COLUMNS = (
    "m.symbol, m.base, m.quote, m.tick_size, m.step_size, m.min_quantity, m.max_quantity,"
    " m.min_notional, m.maker_fee, m.taker_fee, m.price_band, m.market_protection, m.status,"
    " m.version, m.updated_at, ba.precision AS base_precision, qa.precision AS quote_precision,"
    " s.last_price"
)
_MARKET_JOINS = (
    " LEFT JOIN assets ba ON ba.code = m.base LEFT JOIN assets qa ON qa.code = m.quote"
    " LEFT JOIN market_state s ON s.market = m.symbol"
)
_MARKET = f"SELECT {_MARKET_COLUMNS} FROM markets m {_MARKET_JOINS} WHERE m.symbol = %(symbol)s"
# FOR SHARE of the user: a concurrent status change (FOR UPDATE) waits for this order, or this
# order for it.
_MARKET_AND_OWNER = (
    f"SELECT u.number AS owner, u.status AS owner_status, {_MARKET_COLUMNS} FROM users u"
    f" LEFT JOIN markets m ON m.symbol = %(symbol)s {_MARKET_JOINS}"
    " WHERE u.id = %(user_id)s FOR SHARE OF u"
)


def _context(row: Any, symbol: str) -> MarketContext:
    if row.symbol is None:
        raise NotFound(f"market {symbol!r} does not exist")
    stamp = (row.version, row.updated_at)
    known = _configured.get(row.symbol)
    if known is None or known.stamp != stamp:
        for code, precision in ((row.base, row.base_precision), (row.quote, row.quote_precision)):
            if precision is None:
                raise InvalidInput("market", f"unknown asset {code!r}")
        config = market_from_row(row)
        base, quote = int(row.base_precision), int(row.quote_precision)
        known = _Configured(stamp, config, MarketSpec.from_config(config, base, quote), base, quote)
        _configured[row.symbol] = known
    return MarketContext(
        known.config, known.spec, known.base_precision, known.quote_precision, row.last_price
    )


async def market_context(conn: AsyncConnection, symbol: str) -> MarketContext:
    row = await fetch_one(conn, _MARKET, {"symbol": symbol})
    if row is None:
        raise NotFound(f"market {symbol!r} does not exist")
    return _context(row, symbol)


@dataclass(frozen=True)
class MarketAndOwner:
    """A market's context and the ordering user's row, read in one round trip."""

    row: Any
    symbol: str

    def market(self) -> MarketContext:
        return _context(self.row, self.symbol)

    def trading_owner(self) -> int:
        """The user's engine owner number; frozen and locked accounts may not trade."""
        if self.row.owner_status != "active":
            raise AccountUnavailable(
                f"the account is {self.row.owner_status}: trading is not allowed"
            )
        return int(self.row.owner)


async def market_and_owner(
    conn: AsyncConnection, symbol: str, user_id: uuid.UUID
) -> MarketAndOwner:
    """Locks the user's row FOR SHARE; the checks run when asked, in the caller's order."""
    row = await fetch_one(conn, _MARKET_AND_OWNER, {"symbol": symbol, "user_id": user_id})
    if row is None:
        raise LookupError(f"no user {user_id}")
    return MarketAndOwner(row, symbol)


def check_status_allows(status: MarketStatus, order_type: str, post_only: bool) -> None:
    """Binance-style trading status: what each status still accepts."""
    if status is MarketStatus.ENABLED:
        return
    if status is MarketStatus.LIMIT_ONLY and order_type == "LIMIT":
        return
    if status is MarketStatus.POST_ONLY and order_type == "LIMIT" and post_only:
        return
    raise MarketUnavailable(f"the market is {status.value} and does not accept this order")
