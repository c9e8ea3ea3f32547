"""Order book levels per market, as of a market-data sequence (the `orderBook` snapshot).

Each `spot.batch_matched` book entry carries the new total quantity at its price level, so
applying one is an overwrite (zero deletes the level). Entries at or below the sequence the view
already reflects are skipped: re-applying a batch changes nothing.

The matcher publishes the live deltas and trades itself (docs/spot-events.md). `follow_order_book`
joins the two for a subscriber: listen first, then read this snapshot, then pass on each delta
that continues it; on a gap or a lost message, read the snapshot again. `follow_trades` passes
the trades on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.event_store import StoredEvent
from backend.db.tables import order_book_sequence_view, order_book_view
from backend.pubsub import Hub
from projections.base import Outbox
from queries.market_data import (
    LevelView,
    OrderBookView,
    TradeView,
    get_order_book,
    list_trades,
    list_trades_after,
)

_SEQUENCES = text(
    "SELECT market, sequence FROM order_book_sequence_view WHERE market = ANY(:markets)"
)
_UPSERT_LEVELS = text(
    "INSERT INTO order_book_view (market, side, price, quantity)"
    " SELECT * FROM unnest(CAST(:markets AS text[]), CAST(:sides AS text[]),"
    "   CAST(:prices AS numeric[]), CAST(:quantities AS numeric[]))"
    " ON CONFLICT (market, side, price) DO UPDATE SET quantity = EXCLUDED.quantity"
)
_DELETE_LEVELS = text(
    "DELETE FROM order_book_view v USING unnest(CAST(:markets AS text[]),"
    "   CAST(:sides AS text[]), CAST(:prices AS numeric[])) AS d(market, side, price)"
    " WHERE v.market = d.market AND v.side = d.side AND v.price = d.price"
)
_ADVANCE = text(
    "INSERT INTO order_book_sequence_view (market, sequence)"
    " SELECT * FROM unnest(CAST(:markets AS text[]), CAST(:sequences AS bigint[]))"
    " ON CONFLICT (market) DO UPDATE SET sequence ="
    " GREATEST(order_book_sequence_view.sequence, EXCLUDED.sequence)"
)

Level = tuple[str, str, Decimal]  # market, side, price


def latest_levels(entries: list[dict[str, Any]], after: int) -> dict[tuple[str, Decimal], Decimal]:
    """The final total per (side, price) of the entries after sequence `after`."""
    levels: dict[tuple[str, Decimal], Decimal] = {}
    for entry in sorted(entries, key=lambda e: int(e["sequence"])):
        if int(entry["sequence"]) > after:
            levels[(entry["side"], Decimal(entry["price"]))] = Decimal(entry["quantity"])
    return levels


def fold_book(events: list[StoredEvent], sequences: dict[str, int]) -> dict[Level, Decimal]:
    """The last total each level of the batches gets, applied one after the other from the
    markets' `sequences` (advanced in place): what applying them one by one would leave."""
    levels: dict[Level, Decimal] = {}
    for event in events:
        market: str = event.data["market"]
        current = sequences.get(market, 0)
        for (side, price), quantity in latest_levels(event.data.get("book") or [], current).items():
            levels[(market, side, price)] = quantity
        sequences[market] = max(current, int(event.data["sequence"]))
    return levels


async def _apply_batches(conn: AsyncConnection, events: list[StoredEvent]) -> None:
    """A window of batches in three statements: levels set, levels emptied, sequences."""
    markets = sorted({event.data["market"] for event in events})
    rows = await conn.execute(_SEQUENCES, {"markets": markets})
    sequences: dict[str, int] = {row.market: row.sequence for row in rows}
    levels = fold_book(events, sequences)
    upserts = sorted(level for level, quantity in levels.items() if quantity != 0)
    deletes = sorted(level for level, quantity in levels.items() if quantity == 0)
    if upserts:
        await conn.execute(
            _UPSERT_LEVELS,
            {
                "markets": [m for m, _, _ in upserts],
                "sides": [s for _, s, _ in upserts],
                "prices": [p for _, _, p in upserts],
                "quantities": [levels[level] for level in upserts],
            },
        )
    if deletes:
        await conn.execute(
            _DELETE_LEVELS,
            {
                "markets": [m for m, _, _ in deletes],
                "sides": [s for _, s, _ in deletes],
                "prices": [p for _, _, p in deletes],
            },
        )
    await conn.execute(_ADVANCE, {"markets": markets, "sequences": [sequences[m] for m in markets]})


class OrderBookProjection:
    name = "order_book"
    tables: tuple[Table, ...] = (order_book_view, order_book_sequence_view)
    event_types: tuple[str, ...] = ("spot.batch_matched",)

    async def apply_events(
        self, conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox
    ) -> None:
        await _apply_batches(conn, events)


# ---- following the book live: this snapshot joined with the matcher's deltas ----

EXPLAIN_WAIT = 0.25  # how long a delta may wait for the trades that explain its skipped numbers
SNAPSHOT_WAIT = 5.0  # how long a resync waits for this projection to reach the deltas
MAX_CATCH_UP = 10_000  # trades a lagging trades subscriber is sent from the fills table


def book_channel(market: str) -> str:
    return f"market:{market}:book"


def trades_channel(market: str) -> str:
    return f"market:{market}:trades"


class OrderBookBehind(Exception):
    """The projection did not reach the live deltas in time; the subscriber must start over."""


@dataclass(frozen=True)
class BookUpdate:
    sequence: int
    snapshot: bool  # True: the whole book (best levels); False: only the levels that changed
    bids: list[LevelView]
    asks: list[LevelView]


class Verdict(Enum):
    STALE = "stale"  # already part of the book held
    NEXT = "next"  # continues it
    WAIT = "wait"  # skips numbers no trade seen so far explains; the trades may still come
    GAP = "gap"  # skips a book change: resync


@dataclass
class BookSequencer:
    """Whether a book delta continues the book a subscriber holds.

    Every market-data sequence number goes to one trade or one book change. So the numbers
    between the book held and a delta's first change must all be trades of the delta's batch
    (the trades channel names them); any other was a book change this subscriber missed.
    """

    last: int  # the book held reflects everything up to this sequence
    trades: set[int] = field(default_factory=set)
    trades_batch: int = 0  # the latest batch whose trades were seen

    def note_trades(self, batch: int, sequences: Iterable[int]) -> None:
        self.trades_batch = max(self.trades_batch, batch)
        self.trades.update(s for s in sequences if s > self.last)

    def verdict(self, batch: int, changes: Iterable[int]) -> Verdict:
        if batch <= self.last:
            return Verdict.STALE
        first = min((s for s in changes if s > self.last), default=batch + 1)
        skipped = range(self.last + 1, first)
        if len(skipped) <= len(self.trades) and all(s in self.trades for s in skipped):
            return Verdict.NEXT
        return Verdict.GAP if self.trades_batch >= batch else Verdict.WAIT

    def advance(self, sequence: int) -> None:
        self.last = sequence
        self.trades = {s for s in self.trades if s > sequence}


class _Feed:
    """The next message of any of several hub queues, each queue's own order kept."""

    def __init__(self, queues: dict[str, asyncio.Queue[bytes | None]]) -> None:
        self._queues = queues
        self._getters: dict[str, asyncio.Task[bytes | None]] = {}

    # `within` is a timeout in seconds, not money
    async def get(self, within: float | None) -> tuple[str, bytes | None] | None:  # float-ok
        """(queue name, payload; None: messages were lost), or None after `within` seconds."""
        for name, queue in self._queues.items():
            if name not in self._getters:
                self._getters[name] = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait(
            self._getters.values(), timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        for name, task in list(self._getters.items()):
            if task in done:
                del self._getters[name]
                return name, task.result()
        return None

    def close(self) -> None:
        for task in self._getters.values():
            task.cancel()


async def _snapshot(engine: AsyncEngine, market: str, depth: int, at_least: int) -> OrderBookView:
    delay, waited = 0.02, 0.0
    while True:
        async with engine.connect() as conn:
            view = await get_order_book(conn, market, depth)
        if view.sequence >= at_least:
            return view
        if waited >= SNAPSHOT_WAIT:
            raise OrderBookBehind(f"the {market} order book is behind its live updates")
        await asyncio.sleep(delay)
        waited, delay = waited + delay, min(delay * 2, 0.2)


def _delta(sequence: int, changes: list[dict[str, Any]], after: int) -> BookUpdate:
    levels = latest_levels(changes, after)
    return BookUpdate(
        sequence,
        False,
        [LevelView(p, q) for (side, p), q in sorted(levels.items(), reverse=True) if side == "BUY"],
        [LevelView(p, q) for (side, p), q in sorted(levels.items()) if side == "SELL"],
    )


async def follow_order_book(
    hub: Hub, engine: AsyncEngine, market: str, depth: int
) -> AsyncGenerator[BookUpdate, None]:
    """A snapshot, then each delta that continues it; after a gap or lost messages, a fresh
    snapshot (never behind the deltas already received) and the deltas after it."""
    async with (
        hub.listen(trades_channel(market)) as trades,
        hub.listen(book_channel(market)) as book,
    ):
        feed = _Feed({"trades": trades, "book": book})
        sequencer = BookSequencer(0)
        pending: deque[dict[str, Any]] = deque()
        received, resync, deadline = 0, True, None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if resync:
                    view = await _snapshot(engine, market, depth, max(received, sequencer.last))
                    sequencer.advance(view.sequence)
                    resync, deadline = False, None
                    yield BookUpdate(view.sequence, True, view.bids, view.asks)
                verdict = Verdict.NEXT
                while pending:
                    head = pending[0]
                    changes = head.get("changes") or []
                    verdict = sequencer.verdict(
                        int(head["sequence"]), (int(c["sequence"]) for c in changes)
                    )
                    if verdict in (Verdict.WAIT, Verdict.GAP):
                        break
                    pending.popleft()
                    deadline = None
                    if verdict is Verdict.NEXT:
                        update = _delta(int(head["sequence"]), changes, sequencer.last)
                        sequencer.advance(update.sequence)
                        yield update
                if verdict is Verdict.GAP:
                    resync = True
                    continue
                if pending and deadline is None:
                    deadline = loop.time() + EXPLAIN_WAIT
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                item = await feed.get(timeout)
                if item is None or item[1] is None:  # unexplained in time, or messages lost
                    resync = True
                    continue
                message = orjson.loads(item[1])
                if item[0] == "trades":
                    sequencer.note_trades(
                        int(message["sequence"]), (int(t["sequence"]) for t in message["trades"])
                    )
                else:
                    pending.append(message)
                    received = max(received, int(message["sequence"]))
        finally:
            feed.close()


async def follow_trades(
    hub: Hub, engine: AsyncEngine, market: str
) -> AsyncGenerator[TradeView, None]:
    """The market's trades from now on, in sequence order; after lost messages, the missed ones
    from the fills table (written in the batch's own transaction, so never behind)."""
    async with hub.listen(trades_channel(market)) as queue:
        async with engine.connect() as conn:
            latest = await list_trades(conn, market, None, 1)
        last = latest[0].sequence if latest else 0
        while True:
            raw = await queue.get()
            if raw is None:  # messages were lost
                async with engine.connect() as conn:
                    views = await list_trades_after(conn, market, last, MAX_CATCH_UP)
            else:
                message = orjson.loads(raw)
                views = [_trade(t, message.get("at", "")) for t in message["trades"]]
            for view in sorted(views, key=lambda v: v.sequence):
                if view.sequence > last:
                    last = view.sequence
                    yield view


def _trade(t: dict[str, Any], at: str) -> TradeView:
    """A trade as published (docs/spot-events.md); `at` is the message's, if it has one."""
    return TradeView(
        int(t["id"]),
        int(t["sequence"]),
        Decimal(t["price"]),
        Decimal(t["quantity"]),
        Decimal(t["quote_quantity"]),
        t["taker_side"],
        datetime.fromisoformat(str(t.get("at") or at)),
    )
