"""Public market data: order book, trades, candles and tickers, as queries and live feeds.

Figures are shown at the market's scales: prices at the tick size's decimals, quantities at the
step size's, quote amounts at the quote asset's precision. Sequences are market-data sequence
numbers (64-bit, so served as strings).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from graphql import GraphQLError

from backend.api.context import Info
from backend.api.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from backend.api.permissions import PUBLIC_READ
from backend.api.spot_types import OrderSide
from backend.domain.errors import InvalidInput
from backend.domain.money import fixed
from projections.spot.candles import follow_candles, follow_ticker
from projections.spot.order_book import OrderBookBehind, follow_order_book, follow_trades
from queries.market_data import (
    CandleView,
    LevelView,
    MarketScales,
    TickerView,
    TradeView,
    get_market_scales,
    get_order_book,
    get_ticker,
    list_candles,
    list_trades,
)

MAX_DEPTH = 1000
MAX_CANDLES = 1000


@strawberry.enum(description="Candle widths; buckets start at multiples of it from midnight UTC.")
class CandleInterval(Enum):
    M1 = "M1"
    M5 = "M5"
    M15 = "M15"
    H1 = "H1"
    H4 = "H4"
    D1 = "D1"


@strawberry.type(description="The total resting quantity at one price.")
class PriceLevel:
    price: Decimal = strawberry.field(description="At the market's tick size.")
    quantity: Decimal = strawberry.field(description="Total quantity; 0 in an update: removed.")


@strawberry.type(description="A market's order book as of a market-data sequence.")
class OrderBook:
    market: str = strawberry.field(description="Market symbol.")
    sequence: str = strawberry.field(description="Every change up to this sequence is shown.")
    bids: list[PriceLevel] = strawberry.field(description="Buy levels, best (highest) first.")
    asks: list[PriceLevel] = strawberry.field(description="Sell levels, best (lowest) first.")


@strawberry.type(description="A full order book (snapshot) or the levels one batch changed.")
class OrderBookUpdate(OrderBook):
    snapshot: bool = strawberry.field(
        description="True: replace the book with this one (first message, or a resync after a"
        " gap). False: apply these levels; quantity 0 removes a level."
    )


@strawberry.type(description="One trade of a market.")
class Trade:
    id: strawberry.ID = strawberry.field(description="Trade id (newer trades have larger ids).")
    sequence: str = strawberry.field(description="Its market-data sequence.")
    price: Decimal = strawberry.field(description="The maker's price.")
    quantity: Decimal = strawberry.field(description="Base quantity.")
    quote_quantity: Decimal = strawberry.field(description="Price x quantity, in quote.")
    taker_side: OrderSide = strawberry.field(description="BUY: the buyer took liquidity.")
    executed_at: datetime = strawberry.field(description="When its batch was matched.")


@strawberry.type(description="Open, high, low, close and volume of one interval.")
class Candle:
    market: str = strawberry.field(description="Market symbol.")
    interval: CandleInterval = strawberry.field(description="Its width.")
    start: datetime = strawberry.field(description="Start of the interval (UTC).")
    open: Decimal = strawberry.field(description="Price of the first trade.")
    high: Decimal = strawberry.field(description="Highest trade price.")
    low: Decimal = strawberry.field(description="Lowest trade price.")
    close: Decimal = strawberry.field(description="Price of the last trade so far.")
    volume: Decimal = strawberry.field(description="Base quantity traded.")
    quote_volume: Decimal = strawberry.field(description="Quote quantity traded.")
    trades: int = strawberry.field(description="Number of trades.")
    sequence: str = strawberry.field(description="Market-data sequence of the last trade in it.")


@strawberry.type(description="A market's rolling 24 hours (from one-minute candles).")
class Ticker:
    market: str = strawberry.field(description="Market symbol.")
    at: datetime = strawberry.field(description="The window is the 24 hours up to this.")
    last: Decimal | None = strawberry.field(description="Last trade price; null: never traded.")
    open: Decimal | None = strawberry.field(
        description="First price in the window (the last price when nothing traded in it)."
    )
    high: Decimal | None = strawberry.field(description="Highest price in the window.")
    low: Decimal | None = strawberry.field(description="Lowest price in the window.")
    change: Decimal | None = strawberry.field(description="last - open.")
    change_percent: Decimal | None = strawberry.field(
        description="(last - open) / open x 100, two decimals."
    )
    volume: Decimal = strawberry.field(description="Base quantity traded in the window.")
    quote_volume: Decimal = strawberry.field(description="Quote quantity traded in the window.")
    trades: int = strawberry.field(description="Number of trades in the window.")


def _at(value: Decimal, places: int) -> Decimal:
    return Decimal(fixed(value, places))


def _opt(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else _at(value, places)


def _levels(levels: list[LevelView], s: MarketScales) -> list[PriceLevel]:
    return [
        PriceLevel(price=_at(v.price, s.price), quantity=_at(v.quantity, s.quantity))
        for v in levels
    ]


def _trade(v: TradeView, s: MarketScales) -> Trade:
    return Trade(
        id=strawberry.ID(str(v.id)),
        sequence=str(v.sequence),
        price=_at(v.price, s.price),
        quantity=_at(v.quantity, s.quantity),
        quote_quantity=_at(v.quote_quantity, s.quote),
        taker_side=OrderSide(v.taker_side),
        executed_at=v.executed_at,
    )


def _candle(v: CandleView, s: MarketScales) -> Candle:
    return Candle(
        market=v.market,
        interval=CandleInterval(v.interval),
        start=v.bucket,
        open=_at(v.open, s.price),
        high=_at(v.high, s.price),
        low=_at(v.low, s.price),
        close=_at(v.close, s.price),
        volume=_at(v.volume, s.quantity),
        quote_volume=_at(v.quote_volume, s.quote),
        trades=v.trades,
        sequence=str(v.sequence),
    )


def _ticker(v: TickerView, s: MarketScales) -> Ticker:
    return Ticker(
        market=v.market,
        at=v.at,
        last=_opt(v.last, s.price),
        open=_opt(v.open, s.price),
        high=_opt(v.high, s.price),
        low=_opt(v.low, s.price),
        change=_opt(v.change, s.price),
        change_percent=_opt(v.change_percent, 2),
        volume=_at(v.volume, s.quantity),
        quote_volume=_at(v.quote_volume, s.quote),
        trades=v.trades,
    )


def _invalid(field: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "VALIDATION_ERROR", "field": field})


async def _scales(info: Info, market: str) -> MarketScales:
    scales = None
    if "\x00" not in market:  # PostgreSQL text cannot hold NUL: no market has one
        async with info.context.services.engine.connect() as conn:
            scales = await get_market_scales(conn, market)
    if scales is None:
        raise GraphQLError(f"market {market} does not exist", extensions={"code": "NOT_FOUND"})
    return scales


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


Market = Annotated[str, strawberry.argument(description="Market symbol, e.g. BTC-USDT.")]
Depth = Annotated[int, strawberry.argument(description=f"Levels per side (1 to {MAX_DEPTH}).")]
Interval = Annotated[CandleInterval, strawberry.argument(description="Candle width.")]


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise _invalid("depth", f"depth must be between 1 and {MAX_DEPTH}")


@strawberry.type
class MarketDataQuery:
    @strawberry.field(
        permission_classes=PUBLIC_READ,
        description="The order book: the best levels per side and their sequence.",
    )
    async def order_book(self, info: Info, market: Market, depth: Depth = 50) -> OrderBook:
        _check_depth(depth)
        scales = await _scales(info, market)
        async with info.context.services.engine.connect() as conn:
            view = await get_order_book(conn, market, depth)
        return OrderBook(
            market=market,
            sequence=str(view.sequence),
            bids=_levels(view.bids, scales),
            asks=_levels(view.asks, scales),
        )

    @strawberry.field(
        permission_classes=PUBLIC_READ, description="A market's trades, newest first."
    )
    async def trades(
        self,
        info: Info,
        market: Market,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue from.")
        ] = None,
    ) -> Connection[Trade]:
        try:
            limit = page_size(first, info.context.services.settings.max_page_size)
            cursor = decode_cursor(after, 1)
            before = int(cursor[0]) if cursor else None
        except (InvalidInput, ValueError) as exc:
            raise _invalid(getattr(exc, "field", "after"), str(exc)) from None
        scales = await _scales(info, market)
        async with info.context.services.engine.connect() as conn:
            rows = await list_trades(conn, market, before, limit + 1)
        page = rows[:limit]
        return Connection(
            edges=[Edge(cursor=encode_cursor(r.id), node=_trade(r, scales)) for r in page],
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_cursor=encode_cursor(page[-1].id) if page else None,
            ),
        )

    @strawberry.field(
        permission_classes=PUBLIC_READ,
        description="Candles, oldest first. Intervals without trades are absent.",
    )
    async def candles(
        self,
        info: Info,
        market: Market,
        interval: Interval,
        from_: Annotated[
            datetime | None,
            strawberry.argument(
                name="from", description="Candles starting at or after this (the first `limit`)."
            ),
        ] = None,
        to: Annotated[
            datetime | None,
            strawberry.argument(description="Candles starting before this (default: now)."),
        ] = None,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many (1 to {MAX_CANDLES}).")
        ] = 500,
    ) -> list[Candle]:
        if not 1 <= limit <= MAX_CANDLES:
            raise _invalid("limit", f"limit must be between 1 and {MAX_CANDLES}")
        scales = await _scales(info, market)
        async with info.context.services.engine.connect() as conn:
            rows = await list_candles(conn, market, interval.value, _utc(from_), _utc(to), limit)
        return [_candle(r, scales) for r in rows]

    @strawberry.field(
        permission_classes=PUBLIC_READ, description="The market's rolling 24-hour ticker, now."
    )
    async def ticker(self, info: Info, market: Market) -> Ticker:
        scales = await _scales(info, market)
        async with info.context.services.engine.connect() as conn:
            view = await get_ticker(conn, market, datetime.now(UTC))
        return _ticker(view, scales)


@strawberry.type
class MarketDataSubscription:
    @strawberry.subscription(
        permission_classes=PUBLIC_READ,
        description="The order book live: a snapshot, then the levels each batch changes. A"
        " delta continues the previous update; after a gap or lost messages a new snapshot"
        " (snapshot: true) replaces the book. Deltas may touch levels beyond `depth`.",
    )
    async def order_book(
        self, info: Info, market: Market, depth: Depth = 50
    ) -> AsyncGenerator[OrderBookUpdate, None]:
        _check_depth(depth)
        scales = await _scales(info, market)
        services = info.context.services
        feed = follow_order_book(services.hub, services.engine, market, depth)
        try:
            async with aclosing(feed):
                async for u in feed:
                    yield OrderBookUpdate(
                        market=market,
                        sequence=str(u.sequence),
                        snapshot=u.snapshot,
                        bids=_levels(u.bids, scales),
                        asks=_levels(u.asks, scales),
                    )
        except OrderBookBehind as exc:
            raise GraphQLError(f"{exc}; resubscribe", extensions={"code": "LAGGING"}) from None

    @strawberry.subscription(
        permission_classes=PUBLIC_READ,
        description="A market's trades from now on, in sequence order.",
    )
    async def trades(self, info: Info, market: Market) -> AsyncGenerator[Trade, None]:
        scales = await _scales(info, market)
        services = info.context.services
        async with aclosing(follow_trades(services.hub, services.engine, market)) as feed:
            async for view in feed:
                yield _trade(view, scales)

    @strawberry.subscription(
        permission_classes=PUBLIC_READ,
        description="The 24-hour ticker: the current one, then each change.",
    )
    async def ticker(self, info: Info, market: Market) -> AsyncGenerator[Ticker, None]:
        scales = await _scales(info, market)
        services = info.context.services
        async with aclosing(follow_ticker(services.hub, services.engine, market)) as feed:
            async for view in feed:
                yield _ticker(view, scales)

    @strawberry.subscription(
        permission_classes=PUBLIC_READ, description="Candles of one interval as trades change them."
    )
    async def candles(
        self, info: Info, market: Market, interval: Interval
    ) -> AsyncGenerator[Candle, None]:
        scales = await _scales(info, market)
        services = info.context.services
        feed = follow_candles(services.hub, services.engine, market, interval.value)
        async with aclosing(feed):
            async for view in feed:
                yield _candle(view, scales)
