"""Market data on PostgreSQL and Redis: the order book and candle projections, their queries,
the published candles and tickers, and the live order book joining snapshot and deltas.

The module has a database of its own: the session server's worker and matcher (started by the
end-to-end tests) never race these tests for a projection's events or a market."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.schema.config import StrawberryConfig

from backend.api.market_data import MarketDataQuery, MarketDataSubscription
from backend.api.scalars import SCALAR_MAP
from backend.db.engine import make_engine
from backend.db.event_store import NewEvent, append_events
from backend.domain.markets import MarketConfig
from backend.pubsub import Hub
from backend.settings import Settings
from commands.accounts.register_user import RegisterUser
from commands.admin.adjust_balance import AdjustBalance
from commands.admin.create_asset import CreateAsset
from commands.admin.create_market import CreateMarket
from commands.bus import CommandBus
from commands.spot.order_terms import OrderRequest
from commands.spot.place_order import PlaceOrder
from projections.runner import catch_up, rebuild
from projections.spot.candles import CandlesProjection
from projections.spot.order_book import OrderBookProjection, book_channel, trades_channel
from queries.market_data import get_order_book, get_ticker, list_candles, list_trades
from tests.graphql_client import operation
from tests.integration.spot_harness import InProcessMatcher
from tests.servers import ServerPair, unique_name

D = Decimal
BOOK = OrderBookProjection()
CANDLES = CandlesProjection()
T0 = datetime(2026, 11, 25, 3, 58, 59, 999999, tzinfo=UTC)


# ---- factories ----


def a_symbol() -> str:
    return f"MD{uuid.uuid4().hex[:6].upper()}-USDT"


def a_trade(sequence: int, price: str, quantity: str, side: str = "BUY") -> dict[str, Any]:
    return {
        "id": sequence,
        "sequence": sequence,
        "price": price,
        "quantity": quantity,
        "quote_quantity": str(D(price) * D(quantity)),
        "taker_side": side,
    }


def a_level(sequence: int, side: str, price: str, quantity: str) -> dict[str, Any]:
    return {"sequence": sequence, "side": side, "price": price, "quantity": quantity}


def a_batch(
    market: str,
    sequence: int,
    at: datetime = T0,
    trades: list[dict[str, Any]] | None = None,
    book: list[dict[str, Any]] | None = None,
    last_price: str | None = None,
) -> dict[str, Any]:
    trades = trades or []
    return {
        "market": market,
        "batch": sequence,
        "at": at.isoformat(),
        "inputs": [],
        "sequence": sequence,
        "last_price": last_price or (trades[-1]["price"] if trades else None),
        "trades": trades,
        "book": book or [],
        "orders": [],
    }


async def given_batches(engine: AsyncEngine, *batches: dict[str, Any]) -> None:
    """Append the batches, and wait until readers may see them: transactions of other sessions
    on the same server can hold the event log's visibility horizon back for a moment."""
    async with engine.begin() as conn:
        await append_events(
            conn,
            [NewEvent(f"market:{b['market']}", "spot.batch_matched", b) for b in batches],
        )
        xact_id = (await conn.execute(text("SELECT pg_current_xact_id()::text"))).scalar_one()
    for _ in range(500):
        async with engine.connect() as conn:
            visible = await conn.execute(
                text("SELECT CAST(:x AS text)::xid8 < pg_snapshot_xmin(pg_current_snapshot())"),
                {"x": xact_id},
            )
            if visible.scalar_one():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the appended batches did not become visible")


async def given_market(bus: CommandBus, tick: str = "0.01", step: str = "0.0001") -> str:
    base, quote = ("M" + uuid.uuid4().hex[:7].upper() for _ in range(2))
    await bus.execute(CreateAsset(base, 8))
    await bus.execute(CreateAsset(quote, 6))
    symbol = f"{base}-{quote}"
    await bus.execute(
        CreateMarket(
            MarketConfig(
                symbol,
                base,
                quote,
                D(tick),
                D(step),
                D(step),
                D(1000),
                D(1),
                D("0.001"),
                D("0.001"),
                D("0.2"),
                D("0.05"),
            )
        )
    )
    return symbol


async def rows(engine: AsyncEngine, table: str, market: str, order: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(f"SELECT * FROM {table} WHERE market = :m ORDER BY {order}"), {"m": market}
        )
        return [tuple(r) for r in result]


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []

    async def __call__(self, messages: list[tuple[str, bytes]]) -> None:
        self.messages += [(channel, orjson.loads(payload)) for channel, payload in messages]

    def on(self, channel: str) -> list[Any]:
        return [payload for c, payload in self.messages if c == channel]


@pytest.fixture(scope="module")
def own_settings(servers: ServerPair, settings: Settings) -> Iterator[Settings]:
    name = unique_name("exchange_market_data")
    url = servers.create_database(name)
    yield replace(settings, database_url=url)
    servers.drop_database(name)


@pytest.fixture(scope="module")
async def engine(own_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(own_settings, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def bus(engine: AsyncEngine) -> CommandBus:
    return CommandBus(engine)


# ---- order book ----


async def test_the_book_holds_the_latest_total_of_each_level(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_batches(
        engine,
        a_batch(
            m,
            4,
            book=[
                a_level(1, "SELL", "101.00", "2.0000"),
                a_level(2, "SELL", "102.00", "1.0000"),
                a_level(3, "BUY", "99.00", "5.0000"),
                a_level(4, "BUY", "97.00", "1"),
            ],
        ),
        a_batch(
            m,
            8,
            trades=[a_trade(5, "101.00", "0.5000")],
            book=[
                a_level(6, "SELL", "101.00", "1.5000"),
                a_level(7, "BUY", "98.00", "1.0000"),
                a_level(8, "BUY", "99.00", "0.0000"),
            ],
        ),
    )
    # when
    await catch_up(engine, BOOK)
    # then
    async with engine.connect() as conn:
        book = await get_order_book(conn, m, 50)
        top = await get_order_book(conn, m, 1)
        unknown = await get_order_book(conn, a_symbol(), 50)
    assert book.sequence == 8
    assert [(b.price, b.quantity) for b in book.bids] == [(D(98), D(1)), (D(97), D(1))]
    assert [(a.price, a.quantity) for a in book.asks] == [(D(101), D("1.5")), (D(102), D(1))]
    assert (len(top.bids), len(top.asks), top.bids[0].price, top.asks[0].price) == (
        1,
        1,
        D(98),
        D(101),
    )
    assert (unknown.sequence, unknown.bids, unknown.asks) == (0, [], [])


async def test_a_batch_applied_again_changes_no_level(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    first = a_batch(m, 2, book=[a_level(1, "SELL", "10", "3"), a_level(2, "BUY", "9", "1")])
    second = a_batch(m, 4, book=[a_level(3, "SELL", "10", "1"), a_level(4, "BUY", "9", "0")])
    await given_batches(engine, first, second)
    await catch_up(engine, BOOK)
    before = await rows(engine, "order_book_view", m, "side, price")
    # when: the first batch comes again (a duplicate delivery)
    await given_batches(engine, first)
    await catch_up(engine, BOOK)
    # then
    assert before == [(m, "SELL", D(10), D(1))]
    assert await rows(engine, "order_book_view", m, "side, price") == before
    assert await rows(engine, "order_book_sequence_view", m, "market") == [(m, 4)]


async def drained(engine: AsyncEngine, matcher: InProcessMatcher, market: str) -> None:
    """Run the matcher until it has seen every order (inputs become visible to it only once
    no older transaction on the server is still running)."""
    for _ in range(500):
        await matcher.drain()
        async with engine.connect() as conn:
            pending = await conn.execute(
                text("SELECT count(*) FROM orders WHERE market = :m AND status = 'PENDING_NEW'"),
                {"m": market},
            )
            if pending.scalar_one() == 0:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the matcher did not process every order")


async def test_the_projections_agree_with_the_real_matcher(
    engine: AsyncEngine, bus: CommandBus, own_settings: Settings
) -> None:
    # given: orders through the real commands and an in-process matcher
    matcher: InProcessMatcher | None = None
    try:
        m = await given_market(bus, tick="1", step="1")
        base, quote = m.split("-")
        admin = await bus.execute(RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-123456"))
        users = []
        for _ in range(2):
            user = await bus.execute(
                RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-12345678")
            )
            for asset in (base, quote):
                await bus.execute(
                    AdjustBalance(
                        admin, str(user), asset, D(10_000), "fund", "f" + uuid.uuid4().hex
                    )
                )
            users.append(user)
        matcher = InProcessMatcher(engine, own_settings, m)
        await matcher.start()
        orders = [
            (0, "SELL", "101", "3"),
            (0, "SELL", "102", "2"),
            (0, "SELL", "101", "1"),
            (1, "BUY", "99", "4"),
            (1, "BUY", "98", "1"),
            (1, "BUY", "102", "5"),
            (0, "SELL", "98", "6"),
            (1, "BUY", "97", "2"),
        ]
        for user_index, side, price, quantity in orders:
            request = OrderRequest(m, side, "LIMIT", "GTC", price=D(price), quantity=D(quantity))
            await bus.execute(PlaceOrder(users[user_index], request, None, own_settings))
            await drained(engine, matcher, m)
        # when
        async with engine.connect() as conn:
            state = (
                await conn.execute(
                    text("SELECT sequence, last_price FROM market_state WHERE market = :m"),
                    {"m": m},
                )
            ).one()
        for _ in range(500):
            await catch_up(engine, BOOK)
            await catch_up(engine, CANDLES)
            async with engine.connect() as conn:
                book = await get_order_book(conn, m, 100)
            if book.sequence == state.sequence:
                break
            await asyncio.sleep(0.02)
        # then
        assert matcher.batcher is not None
        bids, asks = matcher.batcher.engine.book_levels(100)
        assert book.sequence == state.sequence
        assert [(b.price, b.quantity) for b in book.bids] == [(D(p), D(q)) for p, q in bids]
        assert [(a.price, a.quantity) for a in book.asks] == [(D(p), D(q)) for p, q in asks]
        async with engine.connect() as conn:
            fills = (
                await conn.execute(
                    text(
                        "SELECT count(*), sum(quantity), sum(quote_quantity), max(sequence)"
                        " FROM fills WHERE market = :m"
                    ),
                    {"m": m},
                )
            ).one()
            (day,) = await list_candles(conn, m, "D1", None, None, 10)
        assert fills[0] > 0
        assert (day.trades, day.volume, day.quote_volume, day.sequence) == tuple(fills)
        assert day.close == state.last_price
    finally:
        if matcher is not None:
            await matcher.stop()


# ---- candles and tickers ----


def three_batches(m: str) -> list[dict[str, Any]]:
    """03:58:59.999999 (two trades), 03:59:00 (one), 04:00:00 (one): M1, M5 and H4 split."""
    return [
        a_batch(m, 3, T0, [a_trade(1, "100", "1"), a_trade(2, "105", "2")]),
        a_batch(m, 5, T0 + timedelta(microseconds=1), [a_trade(4, "95", "1")]),
        a_batch(m, 7, datetime(2026, 11, 25, 4, tzinfo=UTC), [a_trade(6, "110", "0.5")]),
    ]


def ohlcv(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(bucket hh:mm, open, high, low, close, volume, quote volume, trades, sequence)."""
    return (row[2].astimezone(UTC).strftime("%H:%M"), *row[3:])


async def test_trades_fold_into_candles_split_at_bucket_boundaries(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_batches(engine, *three_batches(m))
    # when
    await catch_up(engine, CANDLES)
    # then
    candles = await rows(engine, "candles_view", m, "interval, bucket")
    by_interval: dict[str, list[tuple[Any, ...]]] = {}
    for row in candles:
        by_interval.setdefault(row[1], []).append(ohlcv(row))
    assert by_interval["M1"] == [
        ("03:58", D(100), D(105), D(100), D(105), D(3), D(310), 2, 2),
        ("03:59", D(95), D(95), D(95), D(95), D(1), D(95), 1, 4),
        ("04:00", D(110), D(110), D(110), D(110), D("0.5"), D(55), 1, 6),
    ]
    assert by_interval["M5"] == [
        ("03:55", D(100), D(105), D(95), D(95), D(4), D(405), 3, 4),
        ("04:00", D(110), D(110), D(110), D(110), D("0.5"), D(55), 1, 6),
    ]
    early = (D(100), D(105), D(95), D(95), D(4), D(405), 3, 4)
    late = (D(110), D(110), D(110), D(110), D("0.5"), D(55), 1, 6)
    assert by_interval["M15"] == [("03:45", *early), ("04:00", *late)]
    assert by_interval["H1"] == [("03:00", *early), ("04:00", *late)]
    assert by_interval["H4"] == [("00:00", *early), ("04:00", *late)]
    assert by_interval["D1"] == [("00:00", D(100), D(110), D(95), D(110), D("4.5"), D(460), 4, 6)]


async def test_each_batch_publishes_its_candles_and_the_ticker(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_batches(engine, *three_batches(m))
    published = Published()
    # when
    await catch_up(engine, CANDLES, publish=published)
    # then
    m1 = published.on(f"market:{m}:candles:M1")
    d1 = published.on(f"market:{m}:candles:D1")
    tickers = published.on(f"market:{m}:ticker")
    assert [(c["bucket"][11:16], c["close"], c["sequence"]) for c in m1] == [
        ("03:58", "105", 2),
        ("03:59", "95", 4),
        ("04:00", "110", 6),
    ]
    assert [(c["volume"], c["trades"]) for c in d1] == [("3", 2), ("4", 3), ("4.5", 4)]
    assert len(tickers) == 3
    assert tickers[-1] == {
        "market": m,
        "at": "2026-11-25T04:00:00+00:00",
        "sequence": 6,
        "open": "100",
        "high": "110",
        "low": "95",
        "last": "110",
        "volume": "4.5",
        "quote_volume": "460",
        "trades": 4,
    }


async def test_a_batch_folded_again_changes_no_candle(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    batches = three_batches(m)
    await given_batches(engine, *batches)
    await catch_up(engine, CANDLES)
    before = await rows(engine, "candles_view", m, "interval, bucket")
    published = Published()
    # when: an old batch arrives again
    await given_batches(engine, batches[1])
    await catch_up(engine, CANDLES, publish=published)
    # then
    assert await rows(engine, "candles_view", m, "interval, bucket") == before
    assert published.messages == []


async def test_candles_are_listed_oldest_first_within_the_range(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_batches(engine, *three_batches(m))
    await catch_up(engine, CANDLES)
    t = datetime(2026, 11, 25, 3, 59, tzinfo=UTC)
    # when
    async with engine.connect() as conn:
        everything = await list_candles(conn, m, "M1", None, None, 10)
        latest = await list_candles(conn, m, "M1", None, None, 2)
        since = await list_candles(conn, m, "M1", t, None, 1)
        before = await list_candles(conn, m, "M1", None, t, 10)
        between = await list_candles(conn, m, "M1", t, t + timedelta(minutes=1), 10)

    # then
    def minutes(candles: list[Any]) -> list[str]:
        return [c.bucket.astimezone(UTC).strftime("%H:%M") for c in candles]

    assert minutes(everything) == ["03:58", "03:59", "04:00"]
    assert minutes(latest) == ["03:59", "04:00"]
    assert minutes(since) == ["03:59"]
    assert minutes(before) == ["03:58"]
    assert minutes(between) == ["03:59"]


async def test_rebuilding_gives_identical_market_data(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_batches(
        engine,
        *three_batches(m),
        a_batch(m, 9, book=[a_level(8, "SELL", "111", "2"), a_level(9, "BUY", "90", "1")]),
    )
    await catch_up(engine, BOOK, batch_size=3)
    await catch_up(engine, CANDLES, batch_size=3, publish=Published())  # live: per batch
    tables = {
        "order_book_view": "side, price",
        "order_book_sequence_view": "market",
        "candles_view": "interval, bucket",
    }
    before = {t: await rows(engine, t, m, order) for t, order in tables.items()}
    # when
    await rebuild(engine, BOOK, batch_size=2)
    await rebuild(engine, CANDLES)  # in one window, nothing published
    # then
    assert {t: await rows(engine, t, m, order) for t, order in tables.items()} == before
    assert len(before["candles_view"]) == 12


async def test_the_ticker_covers_the_last_24_hours(engine: AsyncEngine, bus: CommandBus) -> None:
    # given: trades 25 h ago (outside), 23 h ago, 1 h ago; the matcher's last price is ahead
    m = await given_market(bus)
    now = datetime.now(UTC)
    await given_batches(
        engine,
        a_batch(m, 1, now - timedelta(hours=25), [a_trade(1, "50", "1")]),
        a_batch(m, 2, now - timedelta(hours=23), [a_trade(2, "80", "2")]),
        a_batch(m, 3, now - timedelta(hours=1), [a_trade(3, "100", "1")]),
    )
    await catch_up(engine, CANDLES)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO market_state (market, last_price) VALUES (:m, 120)"
                " ON CONFLICT (market) DO UPDATE SET last_price = 120"
            ),
            {"m": m},
        )
    # when
    async with engine.connect() as conn:
        ticker = await get_ticker(conn, m, now)
        later = await get_ticker(conn, m, now + timedelta(hours=2))
    # then
    assert (ticker.open, ticker.high, ticker.low, ticker.last) == (D(80), D(120), D(80), D(120))
    assert (ticker.volume, ticker.quote_volume, ticker.trades) == (D(3), D(260), 2)
    assert (ticker.change, ticker.change_percent) == (D(40), D(50))
    assert (later.open, later.last, later.volume, later.sequence) == (D(100), D(120), D(1), 3)


async def test_a_market_never_traded_has_an_empty_ticker(engine: AsyncEngine) -> None:
    # when
    async with engine.connect() as conn:
        ticker = await get_ticker(conn, a_symbol(), datetime.now(UTC))
    # then
    assert (ticker.last, ticker.open, ticker.change, ticker.volume, ticker.trades) == (
        None,
        None,
        None,
        D(0),
        0,
    )


# ---- trades ----


async def given_fills(engine: AsyncEngine, market: str, prices: list[str]) -> None:
    user = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO fills (market, sequence, price, quantity, quote_quantity, taker_side,"
                " maker_order_id, taker_order_id, maker_user_id, taker_user_id, maker_fee,"
                " maker_fee_asset, taker_fee, taker_fee_asset, executed_at) VALUES (:m, :s, :p,"
                " 1, :p, 'SELL', 1, 2, :u, :u, 0, 'USDT', 0, 'BTC', :at)"
            ),
            [
                {"m": market, "s": 10 * (i + 1), "p": D(p), "u": user, "at": T0}
                for i, p in enumerate(prices)
            ],
        )


async def test_trades_are_listed_newest_first_by_keyset(engine: AsyncEngine) -> None:
    # given
    m = a_symbol()
    await given_fills(engine, m, ["1", "2", "3", "4", "5"])
    # when
    async with engine.connect() as conn:
        first = await list_trades(conn, m, None, 2)
        second = await list_trades(conn, m, first[-1].id, 2)
        ticker = await get_ticker(conn, m, T0)
    # then
    assert [t.price for t in first + second] == [D(5), D(4), D(3), D(2)]
    assert [t.sequence for t in first] == [50, 40]
    assert (first[0].taker_side, first[0].executed_at) == ("SELL", T0)
    assert ticker.last == D(5)  # no matcher state: the last fill's price


# ---- GraphQL: queries and the live order book ----

SCHEMA = strawberry.Schema(
    query=MarketDataQuery,
    subscription=MarketDataSubscription,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),  # type: ignore[arg-type]
)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    redis = aioredis.from_url(settings.redis_url)
    hub = Hub(redis)
    yield hub
    await hub.close()
    await redis.aclose()


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(settings.redis_url)
    yield redis
    await redis.aclose()


def context(engine: AsyncEngine, hub: Hub | None = None) -> SimpleNamespace:
    return SimpleNamespace(services=SimpleNamespace(engine=engine, hub=hub, settings=Settings()))


@pytest.mark.parametrize("market", ["NO-SUCH", "BTC-USDT\x00"])
async def test_an_unknown_market_is_not_found(engine: AsyncEngine, market: str) -> None:
    # when
    result = await SCHEMA.execute(
        operation("market_data/order_book"), {"market": market}, context(engine)
    )
    # then
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "NOT_FOUND"}


async def test_an_unknown_market_is_not_found_live_either(engine: AsyncEngine, hub: Hub) -> None:
    # when
    stream = await SCHEMA.subscribe(
        operation("market_data/on_trades"), {"market": "NO-SUCH"}, context(engine, hub)
    )
    result = await asyncio.wait_for(stream.__anext__(), 10)
    await stream.aclose()
    # then
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "NOT_FOUND"}


async def test_the_order_book_is_shown_at_the_market_scales(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    m = await given_market(bus, tick="0.01", step="0.001")
    await given_batches(
        engine,
        a_batch(m, 2, book=[a_level(1, "BUY", "9.5", "1.25"), a_level(2, "SELL", "10", "2")]),
    )
    await catch_up(engine, BOOK)
    # when
    result = await SCHEMA.execute(
        operation("market_data/order_book"), {"market": m, "depth": 5}, context(engine)
    )
    # then
    assert result.errors is None
    assert result.data == {
        "orderBook": {
            "market": m,
            "sequence": "2",
            "bids": [{"price": "9.50", "quantity": "1.250"}],
            "asks": [{"price": "10.00", "quantity": "2.000"}],
        }
    }


async def next_update(stream: Any, field: str = "orderBook") -> dict[str, Any]:
    result = await asyncio.wait_for(stream.__anext__(), 10)
    assert result.errors is None, result.errors
    update: dict[str, Any] = result.data[field]
    return update


async def given_published(publisher: aioredis.Redis, batch: dict[str, Any]) -> None:
    """What the matcher publishes after a batch: the book changes, then the trades."""
    m, sequence = batch["market"], batch["sequence"]
    trades = [{**t, "at": batch["at"]} for t in batch["trades"]]
    await publisher.publish(
        book_channel(m), orjson.dumps({"sequence": sequence, "changes": batch["book"]})
    )
    await publisher.publish(
        trades_channel(m), orjson.dumps({"sequence": sequence, "trades": trades})
    )


async def test_the_live_book_is_a_snapshot_then_deltas_and_resyncs_after_a_gap(
    engine: AsyncEngine, bus: CommandBus, hub: Hub, publisher: aioredis.Redis
) -> None:
    # given: a book at sequence 2
    m = await given_market(bus, tick="1", step="1")
    await given_batches(
        engine, a_batch(m, 2, book=[a_level(1, "BUY", "9", "1"), a_level(2, "SELL", "11", "1")])
    )
    await catch_up(engine, BOOK)
    stream = await SCHEMA.subscribe(
        operation("market_data/on_order_book"), {"market": m}, context(engine, hub)
    )
    snapshot = await next_update(stream)

    async def matched(batch: dict[str, Any], publish: bool = True) -> None:
        await given_batches(engine, batch)
        await catch_up(engine, BOOK)
        if publish:
            await given_published(publisher, batch)

    # when: a batch whose trade (3) precedes its book change (4), published after it
    await matched(
        a_batch(m, 4, trades=[a_trade(3, "11", "1")], book=[a_level(4, "SELL", "11", "0")])
    )
    delta = await next_update(stream)
    # and a batch is lost (5), so the next one (6) leaves a gap
    await matched(a_batch(m, 5, book=[a_level(5, "BUY", "8", "3")]), publish=False)
    await matched(a_batch(m, 6, book=[a_level(6, "SELL", "12", "2")]))
    resync = await next_update(stream)
    # then
    await stream.aclose()
    assert snapshot == {
        "market": m,
        "sequence": "2",
        "snapshot": True,
        "bids": [{"price": "9", "quantity": "1"}],
        "asks": [{"price": "11", "quantity": "1"}],
    }
    assert delta == {
        "market": m,
        "sequence": "4",
        "snapshot": False,
        "bids": [],
        "asks": [{"price": "11", "quantity": "0"}],
    }
    assert resync == {
        "market": m,
        "sequence": "6",
        "snapshot": True,
        "bids": [{"price": "9", "quantity": "1"}, {"price": "8", "quantity": "3"}],
        "asks": [{"price": "12", "quantity": "2"}],
    }


async def test_a_resync_waits_for_the_projection_to_reach_the_deltas(
    engine: AsyncEngine, bus: CommandBus, hub: Hub, publisher: aioredis.Redis
) -> None:
    # given: a book at sequence 1, and batch 2..3 matched but not yet projected
    m = await given_market(bus, tick="1", step="1")
    await given_batches(engine, a_batch(m, 1, book=[a_level(1, "BUY", "9", "1")]))
    await catch_up(engine, BOOK)
    stream = await SCHEMA.subscribe(
        operation("market_data/on_order_book"), {"market": m}, context(engine, hub)
    )
    await next_update(stream)
    await given_batches(
        engine,
        a_batch(m, 2, book=[a_level(2, "BUY", "9", "4")]),
        a_batch(m, 3, book=[a_level(3, "BUY", "7", "1")]),
    )
    # when: only the delta of 3 arrives (2 is lost), and the projection catches up later
    await publisher.publish(
        book_channel(m), orjson.dumps({"sequence": 3, "changes": [a_level(3, "BUY", "7", "1")]})
    )
    pending = asyncio.ensure_future(next_update(stream))
    await asyncio.sleep(0.4)
    waited = not pending.done()
    await catch_up(engine, BOOK)
    update = await pending
    await stream.aclose()
    # then
    assert waited
    assert (update["snapshot"], update["sequence"]) == (True, "3")
    assert update["bids"] == [{"price": "9", "quantity": "4"}, {"price": "7", "quantity": "1"}]


async def test_live_trades_and_tickers_follow_their_channels(
    engine: AsyncEngine, bus: CommandBus, hub: Hub, publisher: aioredis.Redis
) -> None:
    # given: a market that traded once
    m = await given_market(bus, tick="0.1", step="0.01")
    await given_batches(engine, a_batch(m, 1, datetime.now(UTC), [a_trade(1, "10", "2")]))
    await catch_up(engine, CANDLES)
    trades = await SCHEMA.subscribe(
        operation("market_data/on_trades"), {"market": m}, context(engine, hub)
    )
    tickers = await SCHEMA.subscribe(
        operation("market_data/on_ticker"), {"market": m}, context(engine, hub)
    )
    current = await next_update(tickers, "ticker")
    # when: the next batch is matched, published and projected
    batch = a_batch(m, 3, datetime.now(UTC), [a_trade(2, "12", "0.5", "SELL")])
    await given_batches(engine, batch)
    first_trade = asyncio.ensure_future(next_update(trades, "trades"))
    await asyncio.sleep(0.2)  # the trades subscription has started listening by now
    await given_published(publisher, batch)
    trade = await first_trade

    async def publish(messages: list[tuple[str, bytes]]) -> None:
        for channel, payload in messages:
            await publisher.publish(channel, payload)

    await catch_up(engine, CANDLES, publish=publish)
    changed = await next_update(tickers, "ticker")
    await trades.aclose()
    await tickers.aclose()
    # then
    assert (current["last"], current["volume"], current["trades"]) == ("10.0", "2.00", 1)
    assert {k: trade[k] for k in ("sequence", "price", "quantity", "quoteQuantity")} == {
        "sequence": "2",
        "price": "12.0",
        "quantity": "0.50",
        "quoteQuantity": "6.000000",
    }
    assert trade["takerSide"] == "SELL"
    assert (changed["last"], changed["high"], changed["volume"]) == ("12.0", "12.0", "2.50")
    assert (changed["change"], changed["changePercent"], changed["trades"]) == ("2.0", "20.00", 2)
