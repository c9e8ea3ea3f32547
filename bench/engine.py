"""Spot engine throughput and latency against liquibook on the same random order stream.

Run: `python -m bench.engine [--steps N] [--repeat R]`. The stream (random.Random(7)) mixes 25 %
cancels of a random earlier id with limit orders around 10000 ticks, 15 % of them crossing. Our
engine runs with every feature on (STP checks, stop trigger checks, fees, holds, event records);
liquibook counts fills through its order listener. Both must agree on trades and lots.
"""

from __future__ import annotations

import argparse
import gc
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import liquibook

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import TRADE
from backend.domain.spot.orders import BUY, SELL
from backend.domain.spot.units import MarketSpec
from bench.common import (
    Stopwatch,
    best_of,
    emit_json,
    environment,
    latency_us,
    max_rss_mb,
    now_ns,
    traced_peak_mb,
)

FULL_STEPS = 200_000
FULL_TRADES = 40_038
FULL_LOTS = 221_398
BATCH = 1024  # ops per simulated matcher batch: events are drained between batches

SPEC = MarketSpec(
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    base_precision=8,
    quote_precision=8,
    min_quantity=Decimal("0.001"),
    max_quantity=Decimal("1000"),
    min_notional=Decimal("0"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.002"),
    price_band=Decimal("0.5"),
    market_protection=Decimal("0.05"),
)

# One op: (is_place, order id, side, price ticks, lots, hold units).
Op = tuple[bool, int, int, int, int, int]


def make_stream(steps: int, seed: int = 7) -> list[Op]:
    rnd = random.Random(seed)
    placed: list[int] = []
    ops: list[Op] = []
    next_id = 0
    for _ in range(steps):
        if rnd.random() < 0.25 and placed:
            i = rnd.randrange(len(placed))
            placed[i], placed[-1] = placed[-1], placed[i]
            ops.append((False, placed.pop(), 0, 0, 0, 0))
            continue
        next_id += 1
        buy = rnd.random() < 0.5
        off = rnd.randint(1, 50)
        if rnd.random() < 0.15:
            price = 10_000 + off if buy else 10_000 - off
        else:
            price = 10_000 - off if buy else 10_000 + off
        lots = rnd.randint(1, 20)
        hold = price * lots * SPEC.tick_lot_units if buy else lots * SPEC.lot_units
        ops.append((True, next_id, BUY if buy else SELL, price, lots, hold))
        placed.append(next_id)
    return ops


def run_ours(ops: list[Op], samples: list[int] | None = None) -> tuple[Stopwatch, int, int]:
    """Returns (engine time, trades, lots); the event count happens outside the timed part."""
    engine = SpotEngine(SPEC)
    place, cancel = engine.place_limit, engine.cancel
    watch = Stopwatch()
    trades = lots = 0
    for start in range(0, len(ops), BATCH):
        batch = ops[start : start + BATCH]
        now = start
        if samples is None:
            watch.start()
            for is_place, oid, side, price, qty, hold in batch:
                if is_place:
                    # Owner = order id: STP is checked on every fill but never fires.
                    place(oid, oid, side, price, qty, hold, now)
                else:
                    cancel(oid, now)
            watch.stop()
        else:
            for is_place, oid, side, price, qty, hold in batch:
                t0n = now_ns()
                if is_place:
                    place(oid, oid, side, price, qty, hold, now)
                else:
                    cancel(oid, now)
                samples.append(now_ns() - t0n)
        for event in engine.take_events():
            if event[0] == TRADE:
                trades += 1
                lots += event[7]  # type: ignore[misc]
    return watch, trades, lots


class _FillCounter(liquibook.OrderListener):  # type: ignore[misc]
    """liquibook calls every listener method (pure virtual), so all are defined."""

    def __init__(self) -> None:
        liquibook.OrderListener.__init__(self)
        self.trades = 0
        self.lots = 0

    def on_accept(self, order: Any) -> None:
        pass

    def on_reject(self, order: Any, reason: Any) -> None:
        pass

    def on_fill(self, passive: Any, aggressive: Any, qty: int, cost: int) -> None:
        self.trades += 1
        self.lots += qty

    def on_cancel(self, order: Any) -> None:
        pass

    def on_cancel_reject(self, order: Any, reason: Any) -> None:
        pass  # canceling an order that already filled

    def on_replace(self, order: Any, size_delta: Any, new_price: Any) -> None:
        pass

    def on_replace_reject(self, order: Any, reason: Any) -> None:
        pass

    def on_trigger_stop(self, order: Any) -> None:
        pass


def run_liquibook(ops: list[Op], samples: list[int] | None = None) -> tuple[Stopwatch, int, int]:
    listener = _FillCounter()
    book = liquibook.DepthOrderBook()
    book.set_order_listener(listener)
    book.set_symbol("BENCH")
    add, cancel, new_order = book.add, book.cancel, liquibook.SimpleOrder
    orders: dict[int, Any] = {}  # liquibook cancels by order object; keeps them alive too
    watch = Stopwatch()
    watch.start()
    if samples is None:
        for is_place, oid, side, price, qty, _hold in ops:
            if is_place:
                order = orders[oid] = new_order(side == BUY, price, qty)
                add(order)
            else:
                cancel(orders[oid])
    else:
        for is_place, oid, side, price, qty, _hold in ops:
            t0n = now_ns()
            if is_place:
                order = orders[oid] = new_order(side == BUY, price, qty)
                add(order)
            else:
                cancel(orders[oid])
            samples.append(now_ns() - t0n)
    watch.stop()
    return watch, listener.trades, listener.lots


Runner = Callable[[list[Op], "list[int] | None"], tuple[Stopwatch, int, int]]


def measure(name: str, runner: Runner, ops: list[Op], repeats: int) -> dict[str, Any]:
    counts: list[tuple[int, int]] = []

    def timed() -> Stopwatch:
        watch, trades, lots = runner(ops, None)
        counts.append((trades, lots))
        return watch

    seconds, cpu_seconds = best_of(repeats, timed)
    samples: list[int] = []
    runner(ops, samples)
    _, peak = traced_peak_mb(lambda: runner(ops, None))
    trades, lots = counts[0]
    assert all(c == counts[0] for c in counts), f"{name}: runs disagree: {counts}"
    return {
        "engine": name,
        "ops_per_s": round(len(ops) / seconds),
        "cpu_ops_per_s": round(len(ops) / cpu_seconds),
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu_seconds, 4),
        "trades": trades,
        "lots": lots,
        "traced_peak_mib": peak,
        **latency_us(samples),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=FULL_STEPS)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument(
        "--no-gc", action="store_true", help="disable the cyclic GC for the runs (both engines)"
    )
    args = parser.parse_args(argv)
    ops = make_stream(args.steps)
    if args.no_gc:
        gc.collect()
        gc.disable()
    try:
        ours = measure("ours", run_ours, ops, args.repeat)
        theirs = measure("liquibook", run_liquibook, ops, args.repeat)
    finally:
        gc.enable()
    assert (ours["trades"], ours["lots"]) == (theirs["trades"], theirs["lots"]), (ours, theirs)
    if args.steps == FULL_STEPS:
        assert (ours["trades"], ours["lots"]) == (FULL_TRADES, FULL_LOTS), ours
    ratio = round(ours["ops_per_s"] / theirs["ops_per_s"], 2)
    cpu_ratio = round(ours["cpu_ops_per_s"] / theirs["cpu_ops_per_s"], 2)
    for row in (ours, theirs):
        print(
            f"{row['engine']:>10}: {row['ops_per_s']:>9,} ops/s wall  "
            f"{row['cpu_ops_per_s']:>9,} ops/s cpu  "
            f"p50 {row['p50_us']} us  p99 {row['p99_us']} us  max {row['max_us']} us  "
            f"trades {row['trades']:,}  lots {row['lots']:,}  "
            f"python heap peak {row['traced_peak_mib']} MiB"
        )
    gc_mode = "off" if args.no_gc else "on (default thresholds)"
    print(
        f"ratio ours/liquibook: {ratio}x wall, {cpu_ratio}x cpu   "
        f"process max RSS {max_rss_mb()} MiB   cyclic GC {gc_mode}"
    )
    figures: dict[str, Any] = {
        "bench": "spot_engine",
        "steps": args.steps,
        "seed": 7,
        "repeat": args.repeat,
        "batch": BATCH,
        "gc": "off" if args.no_gc else "default",
        "gc_thresholds": list(gc.get_threshold()),
        "ops": len(ops),
        "ours": ours,
        "liquibook": theirs,
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "max_rss_mib": max_rss_mb(),
        **environment(),
    }
    emit_json(figures)
    return figures


if __name__ == "__main__":
    main()
