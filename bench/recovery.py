"""Recovery: a matcher restarting over a deep book, and every projection rebuilt from the log.

    python -m bench.recovery [--orders 1000000] [--events 1000000] [--batch 2000] [--traders 100]
                             [--skip-rebuild] [--keep] [--reuse DATABASE_URL]

Builds the state the real path builds: `--orders` resting limit orders (none crossing) are
accepted (rows, holds, `spot.order_accepted` events, bulk-copied) and drained by the real
matcher code, so the write store holds them as NEW orders with their batches' events. Then:

1. **Matcher restart**: `exchange matcher` is started as a process; timed until it leads the
   market (state loaded from the write store) and until a crossing order placed after the start
   is FILLED: "back to matching". Its resident memory with the whole book loaded is reported,
   and its CPU seconds at both points (the difference is the load's CPU: the machine is shared).
2. **Projection rebuild**: every projection is dropped and replayed from the first event
   (`projections.runner.rebuild`), all at once on a session each, timed per projection and in
   all, with the event count and the CPU of this process and of each server process. The
   drain writes one settlement transfer and one batch event per batch, so that the projections
   have `--events` events to handle, the log is topped up with copies of a real
   `ledger.transfer_posted` event (an order hold, two postings) under fresh transfer ids,
   inserted before the timing starts: the ledger projections' real per-event work.

Set-up (a million orders: minutes) is not timed; `--keep` keeps its database and prints its URL,
and `--reuse URL` times a restart over such a database again without setting up (the crossing
order fills one lot at the best ask each time).

Durability settings are printed; run it against a server with them on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from bench.common import emit_json, environment
from bench.fixtures import (
    bench_settings,
    drop_database,
    durability,
    fresh_database,
    market_with_traders,
)
from bench.matcher import drain, limit_order, preload
from bench.stack import cpu_seconds, load_average, memory_mb
from commands.bus import CommandBus
from commands.spot.order_terms import OrderRequest
from commands.spot.place_order import PlaceOrder
from projections.base import Projection
from projections.registry import PROJECTIONS
from projections.runner import rebuild

ROOT = Path(__file__).resolve().parents[1]


def resting_stream(count: int, traders: list[uuid.UUID], seed: int = 11) -> list[dict[str, Any]]:
    """Bids at 50.00-99.99 and asks at 100.01-150.00: a deep book in which nothing crosses."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        buy = rnd.random() < 0.5
        ticks = rnd.randint(5_000, 9_999) if buy else rnd.randint(10_001, 15_000)
        out.append(limit_order(i, traders[i % len(traders)], buy, ticks, rnd.randint(1, 20)))
    return out


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def restart_matcher(
    url: str, symbol: str, taker: uuid.UUID, best_ask: Decimal
) -> dict[str, Any]:
    engine = make_engine(bench_settings(url), pool_size=2)
    epoch_sql = "SELECT epoch FROM market_state WHERE market = :m"
    epoch0 = int(await _scalar(engine, epoch_sql, m=symbol))
    env = {**os.environ, "DATABASE_URL": url, "EXCHANGE_LOG_LEVEL": "WARNING"}
    t0 = time.perf_counter()
    cpu_leading = 0.0
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", "matcher", "--markets", symbol, env=env, cwd=ROOT
    )
    try:
        # The crossing order goes in at once: it waits in the log while the matcher loads.
        request = OrderRequest(
            symbol, "BUY", "LIMIT", "GTC", price=best_ask, quantity=Decimal("0.001")
        )
        order_id = await CommandBus(engine).execute(
            PlaceOrder(taker, request, f"recovery-{uuid.uuid4().hex[:8]}", bench_settings(url))
        )
        leading_s = filled_s = None
        while filled_s is None:
            if proc.returncode is not None:
                raise RuntimeError("the matcher exited")
            elapsed = time.perf_counter() - t0
            if leading_s is None:
                if int(await _scalar(engine, epoch_sql, m=symbol)) > epoch0:
                    leading_s, cpu_leading = elapsed, cpu_seconds(proc.pid)
            status = await _scalar(engine, "SELECT status FROM orders WHERE id = :i", i=order_id)
            if status == "FILLED":
                filled_s = elapsed
            if elapsed > 600:
                raise TimeoutError("the matcher did not recover within 10 minutes")
            await asyncio.sleep(0.01)
        memory, cpu_filled = memory_mb(proc.pid), cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        await engine.dispose()
    return {
        "matcher_leading_s": round(leading_s or 0, 3),
        "back_to_matching_s": round(filled_s, 3),
        "matcher_rss_mb": memory["rss_mb"],
        "matcher_peak_rss_mb": memory["peak_rss_mb"],
        "matcher_cpu_at_leading_s": round(cpu_leading, 2),
        "matcher_cpu_at_matching_s": round(cpu_filled, 2),
        "matcher_load_cpu_s": round(cpu_filled - cpu_leading, 2),
    }


COPY_CHUNK = 100_000
HANDLED = sorted({t for p in PROJECTIONS.values() for t in p.event_types})


async def top_up_events(engine: AsyncEngine, handled_target: int) -> int:
    """Copies of one real hold transfer's event until the projections have `handled_target`
    events to handle; returns how many were added."""
    handled = int(await _scalar(
        engine, "SELECT count(*) FROM events WHERE event_type = ANY(:t)", t=HANDLED
    ))
    missing = max(0, handled_target - handled)
    for first in range(1, missing + 1, COPY_CHUNK):  # chunks: each within the statement timeout
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO events (stream, event_type, schema_version, data)"
                    " SELECT 'transfer:bench-copy-' || g, e.event_type, e.schema_version,"
                    "  jsonb_set(e.data, '{transfer_id}', to_jsonb('bench-copy-' || g))"
                    " FROM (SELECT * FROM events WHERE event_type = 'ledger.transfer_posted'"
                    "       AND data->>'kind' = 'order_hold' LIMIT 1) e,"
                    "      generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g"
                ),
                {"first": first, "last": min(missing, first + COPY_CHUNK - 1)},
            )
    return missing


async def _rebuild(url: str, projection: Projection) -> tuple[float, float]:
    """One projection rebuilt on its own session: (seconds, CPU seconds of its server process,
    0 when the server is not on this machine)."""
    engine = make_engine(bench_settings(url), pool_size=1)
    try:
        backend = int(await _scalar(engine, "SELECT pg_backend_pid()"))
        cpu0, t0 = cpu_seconds(backend), time.perf_counter()
        await rebuild(engine, projection)
        return time.perf_counter() - t0, cpu_seconds(backend) - cpu0
    finally:
        await engine.dispose()


async def rebuild_projections(url: str, handled_target: int) -> dict[str, Any]:
    """Every projection rebuilt at once, side by side (each has its own tables and checkpoint)."""
    engine = make_engine(bench_settings(url), pool_size=2)
    copies = await top_up_events(engine, handled_target)
    events = int(await _scalar(engine, "SELECT count(*) FROM events"))
    handled = int(await _scalar(
        engine, "SELECT count(*) FROM events WHERE event_type = ANY(:t)", t=HANDLED
    ))
    await engine.dispose()
    t0, cpu0 = time.perf_counter(), time.process_time()
    timed = await asyncio.gather(*(_rebuild(url, p) for p in PROJECTIONS.values()))
    total, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server_cpu = sum(cpu for _, cpu in timed)
    return {
        "events": events,
        "events_handled": handled,
        "events_copied": copies,
        "rebuild_s": round(total, 3),
        "rebuild_events_per_s": round(events / total) if total else 0,
        "rebuild_by_projection_s": {
            name: round(seconds, 3) for name, (seconds, _) in zip(PROJECTIONS, timed, strict=True)
        },
        "rebuild_server_cpu_by_projection_s": {
            name: round(cpu, 3) for name, (_, cpu) in zip(PROJECTIONS, timed, strict=True)
        },
        "rebuild_cpu_s": {"client": round(client_cpu, 3), "server": round(server_cpu, 3)},
        "rebuild_cpu_us_per_event": round((client_cpu + server_cpu) * 1e6 / events, 1),
        "rebuild_load_average": load_average(),
    }


async def set_up(url: str, orders: int, batch: int, traders: int) -> tuple[str, int, float]:
    """The deep book, drained by the real matcher code; returns (symbol, resting orders, s)."""
    engine = make_engine(bench_settings(url), pool_size=2)
    config, users = await market_with_traders(
        CommandBus(engine), traders + 1, "10000000", "10000000000"
    )
    users = users[:-1]  # the last one is the taker: no resting order to self-trade with
    async with engine.connect() as conn:
        owners: dict[uuid.UUID, int] = {
            r.id: r.number for r in await conn.execute(text("SELECT id, number FROM users"))
        }
    await engine.dispose()
    stream = resting_stream(orders, users)
    t0 = time.perf_counter()
    await preload(url, config, owners, stream)
    analyze(url)  # else the matcher's first read of a million fresh events outlasts its timeout
    drained = await drain(url, config.symbol, batch)
    analyze(url)
    return config.symbol, drained["orders"], time.perf_counter() - t0


def analyze(url: str) -> None:
    """Fresh planner statistics after a bulk load (as autovacuum would give, later)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


async def _scalar_at(url: str, sql: str) -> Any:
    engine = make_engine(bench_settings(url), pool_size=1)
    try:
        return await _scalar(engine, sql)
    finally:
        await engine.dispose()


async def restart_target(url: str) -> tuple[str, uuid.UUID, Decimal]:
    """The bench market, its taker (the last user registered) and the best ask now (of every
    order not ended: the matcher takes any the drain did not reach before the crossing one)."""
    engine = make_engine(bench_settings(url), pool_size=1)
    symbol = await _scalar(engine, "SELECT market FROM orders ORDER BY id LIMIT 1")
    taker = await _scalar(engine, "SELECT id FROM users ORDER BY number DESC LIMIT 1")
    best_ask = await _scalar(
        engine,
        "SELECT min(price) FROM orders WHERE market = :m AND side = 'SELL'"
        " AND status IN ('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED')",
        m=symbol,
    )
    await engine.dispose()
    return symbol, taker, best_ask


async def run(
    url: str, orders: int, batch: int, traders: int, events: int, *, reuse: bool, rebuild: bool
) -> dict[str, Any]:
    if reuse:
        resting = int(await _scalar_at(url, "SELECT count(*) FROM orders WHERE status = 'NEW'"))
        setup: dict[str, Any] = {"resting_orders": resting}
    else:
        _, resting, setup_s = await set_up(url, orders, batch, traders)
        setup = {"resting_orders": resting, "setup_seconds": round(setup_s, 1)}
    symbol, taker, best_ask = await restart_target(url)
    restart = await restart_matcher(url, symbol, taker, best_ask)
    rebuilt = await rebuild_projections(url, events) if rebuild else {}
    return {
        "bench": "recovery",
        **setup,
        **restart,
        **rebuilt,
        "settings": {
            "orders": orders, "batch": batch, "traders": traders, "events": events,
            **durability(url),
        },
        **environment(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--traders", type=int, default=100)
    parser.add_argument("--events", type=int, default=1_000_000, help="for projections")
    parser.add_argument("--skip-rebuild", action="store_true", help="time the restart only")
    parser.add_argument("--keep", action="store_true", help="keep the database; print its URL")
    parser.add_argument("--reuse", metavar="URL", help="a database kept by --keep: no set-up")
    args = parser.parse_args(argv)
    # Migrations run their own event loop: before ours.
    url = args.reuse or fresh_database("bench_recovery")
    try:
        figures = asyncio.run(
            run(
                url, args.orders, args.batch, args.traders, args.events,
                reuse=bool(args.reuse), rebuild=not args.skip_rebuild,
            )
        )
    finally:
        if args.keep or args.reuse:
            print(f"database kept: --reuse {url}")
        else:
            drop_database(url)
    print(
        f"recovery: {figures['resting_orders']} resting orders; matcher leading"
        f" after {figures['matcher_leading_s']} s, back to matching after"
        f" {figures['back_to_matching_s']} s (load CPU {figures['matcher_load_cpu_s']} s),"
        f" RSS {figures['matcher_rss_mb']} MB"
    )
    if "rebuild_s" in figures:
        print(
            f"projections rebuilt from {figures['events']} events ({figures['events_handled']}"
            f" handled, {figures['events_copied']} of them copies) in {figures['rebuild_s']} s"
            f" ({figures['rebuild_cpu_us_per_event']} us CPU per event,"
            f" load {figures['rebuild_load_average']})"
        )
    emit_json(figures)
    return figures


if __name__ == "__main__":
    main()
