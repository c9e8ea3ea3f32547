"""OHLCV candles per market and interval, folded from the trades of `spot.batch_matched`.

A batch's trades all fall in the buckets of its timestamp `at` (one per interval), so a replay
gives the same candles. A candle keeps the sequence of the last trade folded in, and only later
trades are folded: re-applying a batch changes nothing. After each batch the changed candles and
the market's 24-hour ticker (as of `at`) are published; `follow_candles` and `follow_ticker`
are the subscriber's side.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.event_store import StoredEvent
from backend.db.tables import candles_view
from backend.domain.money import plain
from backend.pubsub import Hub
from projections.base import Outbox
from queries.market_data import CandleView, TickerView, get_ticker, list_candles, ticker_at

INTERVALS: dict[str, timedelta] = {
    "M1": timedelta(minutes=1),
    "M5": timedelta(minutes=5),
    "M15": timedelta(minutes=15),
    "H1": timedelta(hours=1),
    "H4": timedelta(hours=4),
    "D1": timedelta(days=1),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Tick:
    """What a candle needs of one trade."""

    sequence: int
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal


def candles_channel(market: str, interval: str) -> str:
    return f"market:{market}:candles:{interval}"


def ticker_channel(market: str) -> str:
    return f"market:{market}:ticker"


def bucket_start(at: datetime, interval: str) -> datetime:
    """The start of the interval holding `at`, in UTC (every interval divides a day, so the
    buckets line up with midnight UTC)."""
    if at.tzinfo is None:
        raise ValueError("a batch timestamp must carry its time zone")
    step = INTERVALS[interval]
    return _EPOCH + (at.astimezone(UTC) - _EPOCH) // step * step


def ticks_of(trades: list[dict[str, Any]]) -> list[Tick]:
    """A batch's trades in sequence order."""
    ticks = [
        Tick(
            int(t["sequence"]),
            Decimal(t["price"]),
            Decimal(t["quantity"]),
            Decimal(t["quote_quantity"]),
        )
        for t in trades
    ]
    return sorted(ticks, key=lambda t: t.sequence)


def fold(
    previous: CandleView | None,
    market: str,
    interval: str,
    bucket: datetime,
    ticks: Sequence[Tick],
) -> CandleView | None:
    """`previous` with the ticks after its sequence folded in (ticks in sequence order).
    Returns `previous` itself when nothing is new (None when there is nothing at all)."""
    new = [t for t in ticks if previous is None or t.sequence > previous.sequence]
    if not new:
        return previous
    prices = [t.price for t in new]
    volume = sum((t.quantity for t in new), Decimal(0))
    quote_volume = sum((t.quote_quantity for t in new), Decimal(0))
    if previous is None:
        return CandleView(
            market,
            interval,
            bucket,
            prices[0],
            max(prices),
            min(prices),
            prices[-1],
            volume,
            quote_volume,
            len(new),
            new[-1].sequence,
        )
    return replace(
        previous,
        high=max(previous.high, *prices),
        low=min(previous.low, *prices),
        close=prices[-1],
        volume=previous.volume + volume,
        quote_volume=previous.quote_volume + quote_volume,
        trades=previous.trades + len(new),
        sequence=new[-1].sequence,
    )


def encode_candle(c: CandleView) -> bytes:
    return orjson.dumps(
        {
            "market": c.market,
            "interval": c.interval,
            "bucket": c.bucket.isoformat(),
            "open": plain(c.open),
            "high": plain(c.high),
            "low": plain(c.low),
            "close": plain(c.close),
            "volume": plain(c.volume),
            "quote_volume": plain(c.quote_volume),
            "trades": c.trades,
            "sequence": c.sequence,
        }
    )


def decode_candle(raw: bytes) -> CandleView:
    m = orjson.loads(raw)
    return CandleView(
        m["market"],
        m["interval"],
        datetime.fromisoformat(m["bucket"]),
        Decimal(m["open"]),
        Decimal(m["high"]),
        Decimal(m["low"]),
        Decimal(m["close"]),
        Decimal(m["volume"]),
        Decimal(m["quote_volume"]),
        m["trades"],
        m["sequence"],
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def encode_ticker(t: TickerView) -> bytes:
    return orjson.dumps(
        {
            "market": t.market,
            "at": t.at.isoformat(),
            "sequence": t.sequence,
            "open": _text(t.open),
            "high": _text(t.high),
            "low": _text(t.low),
            "last": _text(t.last),
            "volume": plain(t.volume),
            "quote_volume": plain(t.quote_volume),
            "trades": t.trades,
        }
    )


def decode_ticker(raw: bytes) -> TickerView:
    m = orjson.loads(raw)

    def d(key: str) -> Decimal | None:
        return None if m[key] is None else Decimal(m[key])

    return TickerView(
        m["market"],
        datetime.fromisoformat(m["at"]),
        m["sequence"],
        d("open"),
        d("high"),
        d("low"),
        d("last"),
        Decimal(m["volume"]),
        Decimal(m["quote_volume"]),
        m["trades"],
    )


_COLUMNS = (
    "market, interval, bucket, open, high, low, close, volume, quote_volume, trades, sequence"
)
CandleKey = tuple[str, str, datetime]  # market, interval, bucket

_LOAD = text(
    f"SELECT {_COLUMNS} FROM candles_view WHERE (market, interval, bucket) IN ("
    " SELECT * FROM unnest(CAST(:markets AS text[]), CAST(:intervals AS text[]),"
    "   CAST(:buckets AS timestamptz[])))"
)
_UPSERT = text(
    f"INSERT INTO candles_view ({_COLUMNS}) VALUES (:market, :interval, :bucket, :open, :high,"
    " :low, :close, :volume, :quote_volume, :trades, :sequence)"
    " ON CONFLICT (market, interval, bucket) DO UPDATE SET open = EXCLUDED.open,"
    " high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,"
    " volume = EXCLUDED.volume, quote_volume = EXCLUDED.quote_volume,"
    " trades = EXCLUDED.trades, sequence = EXCLUDED.sequence"
)


def _buckets(event: StoredEvent) -> dict[str, datetime]:
    at = datetime.fromisoformat(event.data["at"])
    return {interval: bucket_start(at, interval) for interval in INTERVALS}


async def _load(conn: AsyncConnection, keys: set[CandleKey]) -> dict[CandleKey, CandleView]:
    """The stored candles of `keys`, in one read for the whole window."""
    ordered = sorted(keys)
    rows = await conn.execute(
        _LOAD,
        {
            "markets": [k[0] for k in ordered],
            "intervals": [k[1] for k in ordered],
            "buckets": [k[2] for k in ordered],
        },
    )
    return {(r.market, r.interval, r.bucket): CandleView(*r) for r in rows}


def _fold_batch(
    candles: dict[CandleKey, CandleView], event: StoredEvent, ticks: list[Tick]
) -> list[CandleView]:
    """Folds one batch's ticks into `candles` (in place); returns the candles it changed."""
    market: str = event.data["market"]
    changed = []
    for interval, bucket in _buckets(event).items():
        key = (market, interval, bucket)
        stored = candles.get(key)
        candle = fold(stored, market, interval, bucket, ticks)
        if candle is not None and candle is not stored:
            candles[key] = candle
            changed.append(candle)
    return changed


async def _publish(
    conn: AsyncConnection,
    outbox: Outbox,
    event: StoredEvent,
    changed: list[CandleView],
    ticks: list[Tick],
) -> None:
    market: str = event.data["market"]
    for candle in changed:
        outbox.publish(candles_channel(market, candle.interval), encode_candle(candle))
    last = event.data.get("last_price")
    at = datetime.fromisoformat(event.data["at"])
    ticker = await ticker_at(conn, market, at, Decimal(last) if last else ticks[-1].price)
    outbox.publish(ticker_channel(market), encode_ticker(ticker))


async def _apply_batches(conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox) -> None:
    """Folds a window of batches with one read of the candles they touch. Live, each batch's
    candles are written before its ticker is read from them; in a rebuild (no ticker) the
    window's candles are written once, at their final state."""
    traded = [(e, ticks) for e in events if (ticks := ticks_of(e.data.get("trades") or []))]
    keys = {
        (e.data["market"], interval, bucket)
        for e, _ in traded
        for interval, bucket in _buckets(e).items()
    }
    candles = await _load(conn, keys) if keys else {}
    unwritten: dict[CandleKey, CandleView] = {}
    for event, ticks in traded:
        changed = _fold_batch(candles, event, ticks)
        if not changed:
            continue  # a batch applied before
        if outbox.live:
            await conn.execute(_UPSERT, [asdict(c) for c in changed])
            await _publish(conn, outbox, event, changed, ticks)
        else:
            unwritten.update(((c.market, c.interval, c.bucket), c) for c in changed)
    if unwritten:
        await conn.execute(_UPSERT, [asdict(c) for c in unwritten.values()])


class CandlesProjection:
    name = "candles"
    tables: tuple[Table, ...] = (candles_view,)
    event_types: tuple[str, ...] = ("spot.batch_matched",)

    async def apply_events(
        self, conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox
    ) -> None:
        await _apply_batches(conn, events, outbox)


async def follow_candles(
    hub: Hub, engine: AsyncEngine, market: str, interval: str
) -> AsyncGenerator[CandleView, None]:
    """Each change of the market's candles of `interval`, as published; after lost messages,
    the latest candle from the view."""
    async with hub.listen(candles_channel(market, interval)) as queue:
        last = 0
        while True:
            raw = await queue.get()
            if raw is None:
                async with engine.connect() as conn:
                    views = await list_candles(conn, market, interval, None, None, 1)
            else:
                views = [decode_candle(raw)]
            for view in views:
                if view.sequence > last:
                    last = view.sequence
                    yield view


async def follow_ticker(
    hub: Hub, engine: AsyncEngine, market: str
) -> AsyncGenerator[TickerView, None]:
    """The current ticker, then each published change; after lost messages, the current one."""
    async with hub.listen(ticker_channel(market)) as queue:
        raw: bytes | None = None
        last = -1
        while True:
            if raw is None:  # first, or messages were lost
                async with engine.connect() as conn:
                    view = await get_ticker(conn, market, datetime.now(UTC))
            else:
                view = decode_ticker(raw)
            if view.sequence > last or raw is None:
                last = view.sequence
                yield view
            raw = await queue.get()
