"""Public market data: order book snapshots, recent trades, candles and the 24-hour ticker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.money import scale_of

TICKER_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class MarketScales:
    """Decimal places a market's figures are shown at."""

    price: int  # the tick size's
    quantity: int  # the step size's
    quote: int  # the quote asset's precision


@dataclass(frozen=True)
class LevelView:
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class OrderBookView:
    sequence: int  # every book change up to this market-data sequence is reflected
    bids: list[LevelView]  # best (highest) price first
    asks: list[LevelView]  # best (lowest) price first


@dataclass(frozen=True)
class TradeView:
    id: int
    sequence: int
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    taker_side: str
    executed_at: datetime


@dataclass(frozen=True)
class CandleView:
    market: str
    interval: str
    bucket: datetime  # start of the interval, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    sequence: int  # the last trade folded in


@dataclass(frozen=True)
class TickerView:
    """The 24 hours up to `at`. Without a trade in the window, open = high = low = last."""

    market: str
    at: datetime
    sequence: int  # the last trade the window reflects (0: none yet)
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    last: Decimal | None
    volume: Decimal
    quote_volume: Decimal
    trades: int

    @property
    def change(self) -> Decimal | None:
        if self.last is None or self.open is None:
            return None
        return self.last - self.open

    @property
    def change_percent(self) -> Decimal | None:
        change = self.change
        if change is None or not self.open:
            return None
        return change * 100 / self.open


_SCALES = text(
    "SELECT m.tick_size, m.step_size, a.precision FROM markets m"
    " JOIN assets a ON a.code = m.quote WHERE m.symbol = :market"
)


async def get_market_scales(conn: AsyncConnection, market: str) -> MarketScales | None:
    """None when the market does not exist."""
    row = (await conn.execute(_SCALES, {"market": market})).first()
    if row is None:
        return None
    return MarketScales(scale_of(row.tick_size), scale_of(row.step_size), row.precision)


# One statement, so the levels and the sequence come from the same snapshot of the view.
_BOOK = text(
    "(SELECT 'BUY' AS side, price, quantity, NULL::bigint AS sequence FROM order_book_view"
    "  WHERE market = :market AND side = 'BUY' ORDER BY price DESC LIMIT :depth)"
    " UNION ALL (SELECT 'SELL', price, quantity, NULL FROM order_book_view"
    "  WHERE market = :market AND side = 'SELL' ORDER BY price ASC LIMIT :depth)"
    " UNION ALL (SELECT 'SEQ', NULL, NULL, sequence FROM order_book_sequence_view"
    "  WHERE market = :market)"
)


async def get_order_book(conn: AsyncConnection, market: str, depth: int) -> OrderBookView:
    """The best `depth` levels per side and the sequence they reflect (0: nothing yet)."""
    rows = (await conn.execute(_BOOK, {"market": market, "depth": depth})).all()
    sequence = next((r.sequence for r in rows if r.side == "SEQ"), 0)
    bids = sorted((r for r in rows if r.side == "BUY"), key=lambda r: r.price, reverse=True)
    asks = sorted((r for r in rows if r.side == "SELL"), key=lambda r: r.price)
    return OrderBookView(
        sequence,
        [LevelView(r.price, r.quantity) for r in bids],
        [LevelView(r.price, r.quantity) for r in asks],
    )


_TRADE_COLUMNS = "id, sequence, price, quantity, quote_quantity, taker_side, executed_at"
_TRADES = text(
    f"SELECT {_TRADE_COLUMNS} FROM fills WHERE market = :market"
    " AND (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :limit"
)
_TRADES_AFTER = text(
    f"SELECT {_TRADE_COLUMNS} FROM fills WHERE market = :market AND sequence > :after"
    " ORDER BY sequence LIMIT :limit"
)


async def list_trades(
    conn: AsyncConnection, market: str, before_id: int | None, limit: int
) -> list[TradeView]:
    """A market's trades, newest first, keyset-paginated by fill id."""
    rows = await conn.execute(_TRADES, {"market": market, "before": before_id, "limit": limit})
    return [TradeView(*r) for r in rows]


async def list_trades_after(
    conn: AsyncConnection, market: str, sequence: int, limit: int
) -> list[TradeView]:
    """Trades after a market-data sequence, oldest first (a live feed catching up)."""
    rows = await conn.execute(_TRADES_AFTER, {"market": market, "after": sequence, "limit": limit})
    return [TradeView(*r) for r in rows]


_CANDLE_COLUMNS = (
    "market, interval, bucket, open, high, low, close, volume, quote_volume, trades, sequence"
)
_CANDLES_FROM = text(
    f"SELECT {_CANDLE_COLUMNS} FROM candles_view WHERE market = :market AND interval = :interval"
    " AND bucket >= :start AND (CAST(:end AS timestamptz) IS NULL OR bucket < :end)"
    " ORDER BY bucket LIMIT :limit"
)
_CANDLES_UNTIL = text(
    f"SELECT {_CANDLE_COLUMNS} FROM candles_view WHERE market = :market AND interval = :interval"
    " AND (CAST(:end AS timestamptz) IS NULL OR bucket < :end)"
    " ORDER BY bucket DESC LIMIT :limit"
)


async def list_candles(
    conn: AsyncConnection,
    market: str,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[CandleView]:
    """Candles whose bucket starts in [start, end), oldest first: the first `limit` from
    `start`, or without `start` the latest `limit` before `end`. Intervals without a trade
    have no candle."""
    params = {"market": market, "interval": interval, "start": start, "end": end, "limit": limit}
    if start is not None:
        rows = list(await conn.execute(_CANDLES_FROM, params))
    else:
        rows = list(reversed((await conn.execute(_CANDLES_UNTIL, params)).all()))
    return [CandleView(*r) for r in rows]


_WINDOW = text(
    "SELECT (array_agg(open ORDER BY bucket))[1] AS open, max(high) AS high, min(low) AS low,"
    " (array_agg(close ORDER BY bucket DESC))[1] AS close, COALESCE(sum(volume), 0) AS volume,"
    " COALESCE(sum(quote_volume), 0) AS quote_volume, COALESCE(sum(trades), 0)::bigint AS trades,"
    " COALESCE((SELECT sequence FROM candles_view WHERE market = :market AND interval = 'M1'"
    "   AND bucket <= :now ORDER BY bucket DESC LIMIT 1), 0) AS sequence"
    " FROM candles_view WHERE market = :market AND interval = 'M1'"
    " AND bucket > :since AND bucket <= :now"
)
_LAST_PRICE = text(
    "SELECT COALESCE((SELECT last_price FROM market_state WHERE market = :market),"
    " (SELECT price FROM fills WHERE market = :market ORDER BY sequence DESC LIMIT 1))"
)


async def ticker_at(
    conn: AsyncConnection, market: str, now: datetime, last: Decimal | None
) -> TickerView:
    """The ticker from the M1 candles starting in (now - 24h, now], with `last` as the last
    price (the window's close when None)."""
    w = (
        await conn.execute(_WINDOW, {"market": market, "since": now - TICKER_WINDOW, "now": now})
    ).one()
    last = last if last is not None else w.close
    if w.open is None:  # no trade in the window
        open_, high, low = last, last, last
    else:  # the last price may be ahead of the candles: keep it inside the range
        open_ = w.open
        high = w.high if last is None else max(w.high, last)
        low = w.low if last is None else min(w.low, last)
    return TickerView(
        market=market,
        at=now,
        sequence=w.sequence,
        open=open_,
        high=high,
        low=low,
        last=last,
        volume=w.volume,
        quote_volume=w.quote_volume,
        trades=w.trades,
    )


async def get_ticker(conn: AsyncConnection, market: str, now: datetime) -> TickerView:
    """The 24-hour ticker at `now`; the last price is the matcher's (else the last fill's)."""
    last = (await conn.execute(_LAST_PRICE, {"market": market})).scalar_one_or_none()
    return await ticker_at(conn, market, now, last)
