"""The live matcher: leadership of markets, the batch loop, and publishing after each commit.

Leadership: a session-level advisory lock taken on the connection that also commits every batch.
If this process freezes, the server ends its idle session (`idle_session_timeout`), the lock goes
with it and a standby takes over; the frozen process's next statement then fails on the dead
connection. As a second fence every batch's `market_state` update names this matcher's epoch,
which each new leader increments, so a stale matcher can never commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import psycopg
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.event_store import Checkpoint
from backend.domain.ledger import AccountRef
from backend.domain.markets import MarketConfig
from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.units import MarketSpec
from backend.matching.inputs import MatcherInput, read_inputs
from backend.matching.registry import OrderRegistry
from backend.matching.settlement import MarketInfo, Settlement
from backend.matching.state import (
    MarketCursor,
    build_engine,
    load_cursor,
    market_info,
    working_orders,
)
from backend.matching.step import apply_input, micros
from backend.matching.writer import Fenced, write_batch
from backend.settings import Settings
from queries.markets import list_markets

log = logging.getLogger(__name__)

PROCESSED_CHANNEL = "spot:processed"
MAX_IDLE_POLL_SECONDS = 0.05
HALT_RETRY_SECONDS = 30.0
"""The longest a quiet market waits between polls for input (the first order's extra latency)."""


def lock_key(symbol: str) -> str:
    return f"matcher:{symbol}"


@dataclass
class Leadership:
    conn: AsyncConnection
    epoch: int


async def take_market(conn: AsyncConnection, symbol: str) -> int | None:
    """On this session: the market's lock and a new epoch, or None when another matcher leads."""
    got = (
        await conn.execute(
            text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": lock_key(symbol)}
        )
    ).scalar_one()
    if not got:
        await conn.rollback()
        return None
    await conn.execute(
        text("INSERT INTO market_state (market) VALUES (:m) ON CONFLICT DO NOTHING"), {"m": symbol}
    )
    epoch = (
        await conn.execute(
            text("UPDATE market_state SET epoch = epoch + 1 WHERE market = :m RETURNING epoch"),
            {"m": symbol},
        )
    ).scalar_one()
    await conn.commit()
    return int(epoch)


async def try_lead(engine: AsyncEngine, symbol: str) -> Leadership | None:
    """A dedicated connection leading one market (tests and benchmarks)."""
    conn = await engine.connect()
    try:
        epoch = await take_market(conn, symbol)
    except BaseException:
        await conn.close()
        raise
    if epoch is None:
        await conn.close()
        return None
    return Leadership(conn, epoch)


LOAD_IDLE_TIMEOUT_MS = 120_000
"""How long a leader may sit idle while it builds a market's book (a million orders: seconds)."""


async def load_batcher(
    conn: AsyncConnection, settings: Settings, symbol: str, epoch: int
) -> Batcher:
    # Building a deep book takes seconds of CPU with the session idle; the leader's short idle
    # timeouts (which free the locks of a frozen matcher) are lifted for the load only, and so
    # is the statement timeout: a million orders read on a busy server can outlast it.
    await conn.execute(text(f"SET idle_session_timeout = {LOAD_IDLE_TIMEOUT_MS}"))
    await conn.execute(text(f"SET idle_in_transaction_session_timeout = {LOAD_IDLE_TIMEOUT_MS}"))
    await conn.execute(text(f"SET statement_timeout = {LOAD_IDLE_TIMEOUT_MS}"))
    market = await market_info(conn, symbol)
    cursor = await load_cursor(conn, symbol)
    working = await working_orders(conn, market)
    await conn.commit()  # as the market's only writer, this session alone changes working orders
    # build_engine pauses the collector meanwhile and then freezes the book out of its reach
    # (it lives as long as the market does), so full collections during batches walk only what
    # batches create.
    engine, registry = build_engine(market, cursor, working)
    await conn.execute(text("RESET idle_session_timeout"))
    await conn.execute(text("RESET idle_in_transaction_session_timeout"))
    await conn.execute(text("RESET statement_timeout"))
    await conn.commit()
    return Batcher(settings, market, engine, registry, cursor, epoch)


class ShardMatcher:
    """Every market this process matches, served from ONE session that holds all their locks:
    a process leading hundreds of markets needs one connection, not hundreds."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        redis: aioredis.Redis,
        markets: list[str] | None,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.settings, self.db, self.redis, self.only = settings, engine, redis, markets
        # Told after each committed batch (the projection nudger), so read models follow the
        # matcher within milliseconds instead of at the worker's next sweep.
        self.after_batch = after_batch

    async def run(self, stop: asyncio.Event) -> None:
        """Lead what it can, stand by for the rest, until `stop` is set."""
        while not stop.is_set():
            try:
                async with self.db.connect() as conn:
                    await self._serve(conn, stop)
            except Exception:
                log.exception("matcher lost its session or failed; standing by")
                await _sleep(stop, 0.5)

    async def _serve(self, conn: AsyncConnection, stop: asyncio.Event) -> None:
        led: dict[str, Batcher] = {}
        halted: dict[str, float] = {}  # market -> when to retry after a failed batch
        next_scan = 0.0
        busy_poll = idle_poll = self.settings.matcher_poll_interval_seconds
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if loop.time() >= next_scan:  # new markets get a matcher within a second
                await self._take_new(conn, led)
                next_scan = loop.time() + 1.0
            worked = False
            for symbol, batcher in list(led.items()):
                if halted.get(symbol, 0.0) > loop.time():
                    continue
                try:
                    worked |= await self._step(conn, symbol, batcher)
                except Fenced:
                    log.error("fenced off: another matcher leads", extra={"market": symbol})
                    del led[symbol]
                except Exception as exc:
                    if is_connection_loss(exc):
                        raise
                    # A batch that cannot be written halts its market only (the engine may be
                    # half-way through it, so the market reloads from the store on retry);
                    # every other market keeps trading.
                    log.exception("batch failed; market halted", extra={"market": symbol})
                    await conn.rollback()
                    halted[symbol] = loop.time() + HALT_RETRY_SECONDS
                    led[symbol] = await self._reload(conn, symbol, batcher.epoch)
            if worked:
                idle_poll = busy_poll
                continue
            # Back off while every market is quiet, so idle markets cost no steady load.
            await _sleep(stop, idle_poll)
            idle_poll = min(idle_poll * 2, max(busy_poll, MAX_IDLE_POLL_SECONDS))

    async def _reload(self, conn: AsyncConnection, symbol: str, epoch: int) -> Batcher:
        return await load_batcher(conn, self.settings, symbol, epoch)

    async def _take_new(self, conn: AsyncConnection, led: dict[str, Batcher]) -> None:
        symbols = [m.symbol for m in await list_markets(conn)]
        await conn.commit()
        for symbol in symbols:
            if symbol in led or (self.only is not None and symbol not in self.only):
                continue
            epoch = await take_market(conn, symbol)
            if epoch is not None:
                led[symbol] = await load_batcher(conn, self.settings, symbol, epoch)
                log.info("leading market", extra={"market": symbol, "epoch": epoch})

    async def _step(self, conn: AsyncConnection, symbol: str, batcher: Batcher) -> bool:
        done = await run_next_batch(conn, batcher)
        if done is None:
            return False
        payload, processed = done
        await publish_batch(self.redis, symbol, payload, processed)
        if self.after_batch is not None:
            self.after_batch()
        return True


BACKLOG_BATCH_FACTOR = 8
"""With a backlog, batches grow up to this many times `matcher_batch_size`: the per-batch work
(a dozen statements, the ledger transfer over every touched account, the commit) then spreads over
more orders. Once a read comes back short, batches are back to the configured size."""


async def run_next_batch(
    conn: AsyncConnection, batcher: Batcher
) -> tuple[dict[str, object], list[int]] | None:
    """Read the market's next inputs and match and write them in one transaction; None when there
    are none. The read limit doubles while reads come back full."""
    base = batcher.settings.matcher_batch_size
    async with conn.begin():
        inputs = await read_inputs(
            conn, batcher.market.symbol, batcher.cursor.checkpoint, batcher.read_limit
        )
        if not inputs:
            return None
        done = await batcher.run(conn, inputs, datetime.now(UTC))
    full = len(inputs) == batcher.read_limit
    batcher.read_limit = min(batcher.read_limit * 2, base * BACKLOG_BATCH_FACTOR) if full else base
    return done


def is_connection_loss(exc: BaseException) -> bool:
    """The session itself is gone (so are its locks): reconnect and re-lead, never retry here."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # The batch's statements run on the psycopg connection itself (backend/db/driver.py), so
    # its errors arrive unwrapped: the same classes, as psycopg names them.
    return isinstance(
        exc,
        (
            OperationalError,
            InterfaceError,
            ConnectionError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
        ),
    )


async def publish_batch(
    redis: aioredis.Redis, symbol: str, payload: dict[str, object], processed: list[int]
) -> None:
    """After commit: serialize each message once and fan it out through Redis."""
    by_user: dict[str, list[object]] = {}
    for change in payload["orders"]:  # type: ignore[attr-defined]
        by_user.setdefault(change["user_id"], []).append(change)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            if payload["book"]:
                pipe.publish(
                    f"market:{symbol}:book",
                    orjson.dumps(
                        {
                            "market": symbol,
                            "sequence": payload["sequence"],
                            "changes": payload["book"],
                        }
                    ),
                )
            if payload["trades"]:
                pipe.publish(
                    f"market:{symbol}:trades",
                    orjson.dumps(
                        {
                            "market": symbol,
                            "sequence": payload["sequence"],
                            "trades": payload["trades"],
                        }
                    ),
                )
            for user_id, changes in by_user.items():
                pipe.publish(f"user:{user_id}:orders", orjson.dumps({"orders": changes}))
            pipe.publish(PROCESSED_CHANNEL, orjson.dumps({"market": symbol, "orders": processed}))
            await pipe.execute()
    except Exception:  # committed already; subscribers resync from snapshots
        log.warning("publish failed", exc_info=True, extra={"market": symbol})


class Batcher:
    """Runs inputs through the engine and writes the batch (no leadership concerns here)."""

    def __init__(
        self,
        settings: Settings,
        market: MarketInfo,
        engine: SpotEngine,
        registry: OrderRegistry,
        cursor: MarketCursor,
        epoch: int,
    ) -> None:
        self.settings, self.market, self.engine = settings, market, engine
        self.registry, self.cursor, self.epoch = registry, cursor, epoch
        # Ledger account ids seen so far. A failed batch drops this Batcher (the market
        # reloads), so an id of an account created in a rolled-back transaction dies with it.
        self.accounts: dict[AccountRef, int] = {}
        self.read_limit = settings.matcher_batch_size

    async def run(
        self, conn: AsyncConnection, inputs: list[MatcherInput], at: datetime
    ) -> tuple[dict[str, object], list[int]]:
        now = micros(at)
        max_age = self.settings.taker_order_max_age_ms * 1000
        settlement = Settlement(self.market, self.registry, self.cursor.sequence, at)
        processed: list[int] = []
        for item in inputs:
            apply_input(self.engine, self.registry, item, now, max_age)
            if item.kind == "admin.market_updated":
                self._reconfigure(item.data["after"])
            processed.extend(_order_ids(item))
        settlement.apply(self.engine.events)
        self.engine.events.clear()
        effects = settlement.finish(self.engine)
        batch = self.cursor.batch + 1
        checkpoint = Checkpoint(inputs[-1].xact_id, inputs[-1].position)
        payload = await write_batch(
            conn,
            self.market,
            self.registry,
            effects,
            epoch=self.epoch,
            batch=batch,
            at=at,
            checkpoint=checkpoint,
            inputs=[i.position for i in inputs],
            engine_seq=self.engine.last_seq,
            accounts=self.accounts,
        )
        self.registry.forget_finished(effects.changed)
        last = payload["last_price"]
        self.cursor = MarketCursor(
            checkpoint,
            effects.sequence,
            batch,
            self.engine.last_seq,
            Decimal(str(last)) if last is not None else self.cursor.last_price,
        )
        return payload, sorted(set(processed) | effects.changed)

    def _reconfigure(self, after: dict[str, str]) -> None:
        """Fees and filters take effect from this point in the sequence."""
        config = MarketConfig.from_json(after)
        spec = MarketSpec.from_config(
            config, self.market.base_precision, self.market.quote_precision
        )
        if spec == self.market.spec:
            return
        pending = list(self.engine.events)
        self.engine = SpotEngine.restore(spec, self.engine.snapshot())
        self.engine.events.extend(pending)
        self.market = MarketInfo(
            self.market.symbol,
            self.market.base,
            self.market.quote,
            self.market.base_precision,
            self.market.quote_precision,
            spec,
        )


def _order_ids(item: MatcherInput) -> list[int]:
    data = item.data
    ids = [data["order_id"]] if "order_id" in data else []
    if item.kind == "spot.order_accepted" and data.get("oco"):
        ids.append(data["oco"]["order_id"])
    return ids


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
