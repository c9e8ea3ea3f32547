"""Persisted matcher throughput: accepted orders drained into PostgreSQL in batches.

    python -m bench.matcher [--orders 200000] [--batch 500] [--traders 100]

`--batch` is the matcher's configured batch size; with a backlog (as here) batches grow up to
8 times that, as in the live matcher.

Pre-loads accepted orders (rows, holds and `spot.order_accepted` events, exactly what placeOrder
writes, bulk-copied so the load itself is not measured), then times the real matcher code
(`Batcher`: engine, settlement, fills, order updates, one ledger transfer and one event per batch,
market_state) until every order is processed. At least half of the orders cross. Prints the
matcher's CPU per order and, when the server runs on this machine, the CPU of the PostgreSQL
backend serving the matcher's session, with the load average. Durability settings are printed;
run it against a server with them on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import text

from backend.db.engine import make_engine
from backend.db.ledger import post_transfer
from backend.domain.ledger import AccountKind, AccountRef, move
from backend.domain.markets import MarketConfig
from backend.matching.matcher import load_batcher, run_next_batch, try_lead
from bench.common import emit_json, environment, latency_us, max_rss_mb
from bench.fixtures import (
    bench_settings,
    drop_database,
    durability,
    fresh_database,
    market_with_traders,
)
from bench.stack import cpu_seconds, load_average
from commands.bus import CommandBus
from queries.ledger import reconcile

TICK_LOT_UNITS = 1_000  # 0.01 x 0.001 at 8 quote decimals
LOT_UNITS = 100_000  # 0.001 at 8 base decimals
IDLE_GIVE_UP_SECONDS = 60.0  # no input visible for this long: stop and report what was processed


def order_stream(count: int, traders: list[uuid.UUID], seed: int = 7) -> list[dict[str, Any]]:
    """Limit orders around 100.00: half of them cross the spread (about 50/50 buy and sell)."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        buy = rnd.random() < 0.5
        off = rnd.randint(1, 50)
        crossing = rnd.random() < 0.5
        ticks = 10_000 + off if buy == crossing else 10_000 - off
        out.append(limit_order(i, traders[i % len(traders)], buy, ticks, rnd.randint(1, 20)))
    return out


def limit_order(i: int, user: uuid.UUID, buy: bool, ticks: int, lots: int) -> dict[str, Any]:
    """One accepted limit order as `preload` writes it, with the hold placeOrder would take."""
    hold = ticks * lots * TICK_LOT_UNITS if buy else lots * LOT_UNITS
    return {"i": i, "user": user, "buy": buy, "ticks": ticks, "lots": lots, "hold": hold}


async def preload(
    url: str, config: MarketConfig, owners: dict[uuid.UUID, int], orders: list[dict[str, Any]]
) -> None:
    """Rows + holds + accepted events, as placeOrder writes them, bulk-copied."""
    engine = make_engine(bench_settings(url), pool_size=1)
    holds: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for o in orders:
        holds[(o["user"], config.quote if o["buy"] else config.base)] += o["hold"]
    async with engine.begin() as conn:
        for (user, asset), units in holds.items():
            await post_transfer(
                conn,
                move(
                    f"bench-hold:{user}:{asset}",
                    "order_hold",
                    AccountRef.user(user, asset, AccountKind.AVAILABLE),
                    AccountRef.user(user, asset, AccountKind.LOCKED),
                    Decimal(units).scaleb(-8),
                ),
            )
        first = int(
            (await conn.execute(text("SELECT COALESCE(max(id), 0) + 1 FROM orders"))).scalar_one()
        )
    await engine.dispose()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY orders (id, user_id, owner, market, client_order_id, request_hash, side, type,"
            " time_in_force, self_trade_prevention, price, quantity, hold_asset, hold_amount,"
            " hold_remaining) FROM STDIN"
        ) as copy:
            for o in orders:
                hold = Decimal(o["hold"]).scaleb(-8)
                copy.write_row(
                    (
                        first + o["i"],
                        o["user"],
                        owners[o["user"]],
                        config.symbol,
                        f"b{o['i']}",
                        "x",
                        "BUY" if o["buy"] else "SELL",
                        "LIMIT",
                        "GTC",
                        "EXPIRE_TAKER",
                        Decimal(o["ticks"]).scaleb(-2),
                        Decimal(o["lots"]).scaleb(-3),
                        config.quote if o["buy"] else config.base,
                        hold,
                        hold,
                    )
                )
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('orders', 'id'), %s)", (first + len(orders),)
        )
        with conn.cursor().copy(
            "COPY events (stream, event_type, schema_version, data) FROM STDIN"
        ) as copy:
            for o in orders:
                copy.write_row(
                    (
                        f"market:{config.symbol}",
                        "spot.order_accepted",
                        1,
                        json.dumps(_accepted(first + o["i"], o, owners, config)),
                    )
                )
        conn.commit()


def _accepted(
    order_id: int, o: dict[str, Any], owners: dict[uuid.UUID, int], config: MarketConfig
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "user_id": str(o["user"]),
        "owner": owners[o["user"]],
        "client_order_id": f"b{o['i']}",
        "side": "BUY" if o["buy"] else "SELL",
        "type": "LIMIT",
        "time_in_force": "GTC",
        "post_only": False,
        "self_trade_prevention": "EXPIRE_TAKER",
        "price": str(Decimal(o["ticks"]).scaleb(-2)),
        "stop_price": None,
        "quantity": str(Decimal(o["lots"]).scaleb(-3)),
        "quote_quantity": None,
        "price_ticks": o["ticks"],
        "stop_ticks": 0,
        "lots": o["lots"],
        "quote_units": 0,
        "hold_asset": config.quote if o["buy"] else config.base,
        "hold_units": o["hold"],
    }


async def drain(
    url: str, symbol: str, batch_size: int, expected: int | None = None
) -> dict[str, Any]:
    """Run batches until `expected` orders are processed (without it: until a read is empty)."""
    settings = replace(bench_settings(url), matcher_batch_size=batch_size)
    engine = make_engine(settings, pool_size=1)
    lead = await try_lead(engine, symbol)
    assert lead is not None
    conn = lead.conn
    # The server process behind the matcher's session (0 CPU when the server is not local).
    backend_pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    await conn.commit()
    batcher = await load_batcher(conn, settings, symbol, lead.epoch)
    samples: list[int] = []
    sizes: list[int] = []
    processed = trades = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    pg_cpu0 = cpu_seconds(backend_pid)
    idle_since = time.perf_counter()
    while (expected is None or processed < expected) and (
        time.perf_counter() - idle_since < IDLE_GIVE_UP_SECONDS
    ):
        t0 = time.perf_counter_ns()
        done = await run_next_batch(conn, batcher)
        if done is None:
            if expected is None:
                break
            # A transaction elsewhere in the cluster holds the log's visibility horizon back.
            await asyncio.sleep(0.01)
            continue
        idle_since = time.perf_counter()
        payload, _ = done
        samples.append(time.perf_counter_ns() - t0)
        sizes.append(len(payload["inputs"]))  # type: ignore[arg-type]
        processed += sizes[-1]
        trades += len(payload["trades"])  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pg_cpu = cpu_seconds(backend_pid) - pg_cpu0
    async with engine.connect() as check:
        rows = await reconcile(check)
    await conn.close()
    await engine.dispose()
    return {
        "orders": processed,
        "trades": trades,
        "batches": len(samples),
        "largest_batch": max(sizes, default=0),
        "seconds": round(wall, 3),
        "orders_per_s": round(processed / wall),
        "matcher_cpu_ms_per_order": round(cpu * 1000 / max(processed, 1), 4),
        "postgres_cpu_ms_per_order": round(pg_cpu * 1000 / max(processed, 1), 4),
        "load_average": load_average(),
        "batch_latency": latency_us(samples),
        "reconciled": all(r.balanced for r in rows),
    }


async def run(url: str, orders: int, batch: int, traders: int) -> dict[str, Any]:
    engine = make_engine(bench_settings(url), pool_size=2)
    config, users = await market_with_traders(CommandBus(engine), traders, "1000000", "100000000")
    async with engine.connect() as conn:
        owners: dict[uuid.UUID, int] = {
            r.id: r.number for r in await conn.execute(text("SELECT id, number FROM users"))
        }
    await engine.dispose()
    stream = order_stream(orders, users)
    t0 = time.perf_counter()
    await preload(url, config, owners, stream)
    load_s = time.perf_counter() - t0
    figures = await drain(url, config.symbol, batch, len(stream))
    return {
        "bench": "matcher",
        **figures,
        "preload_seconds": round(load_s, 2),
        "settings": {"orders": orders, "batch": batch, "traders": traders, **durability(url)},
        "peak_rss_mb": max_rss_mb(),
        **environment(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--traders", type=int, default=100)
    args = parser.parse_args(argv)
    url = fresh_database("bench_matcher")  # migrations run their own event loop: before ours
    try:
        figures = asyncio.run(run(url, args.orders, args.batch, args.traders))
    finally:
        drop_database(url)
    print(
        f"matcher: {figures['orders']} orders, {figures['trades']} trades in "
        f"{figures['seconds']} s = {figures['orders_per_s']} orders/s; "
        f"{figures['batches']} batches (largest {figures['largest_batch']}): "
        f"p50 {figures['batch_latency']['p50_us'] / 1000:.1f} ms, "
        f"p99 {figures['batch_latency']['p99_us'] / 1000:.1f} ms; "
        f"CPU per order: matcher {figures['matcher_cpu_ms_per_order']} ms, PostgreSQL backend "
        f"{figures['postgres_cpu_ms_per_order']} ms; load {figures['load_average']}; "
        f"reconciled={figures['reconciled']}"
    )
    emit_json(figures)
    return figures


if __name__ == "__main__":
    main()
