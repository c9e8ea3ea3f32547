"""placeOrder over HTTP against the real server, load from wrk (or a Python fallback).

    python -m bench.api [--duration 60] [--warmup 10] [--rate 500] [--connections 64]
                        [--traders 100] [--phases throughput,paced] [--loadgen wrk|python]
                        [--profile DIR]

Starts the real stack (`exchange api`, `exchange worker`, `exchange matcher` on a fresh database of
DATABASE_URL's server; bench/stack.py), makes a market and funded traders through the API, warms
up, then runs two phases of limit orders with unique clientOrderIds (bench/wrk/place_order.lua):

- throughput: `--connections` connections send their next order as soon as the last is answered
  (closed loop): the sustained rate the stack reaches (target 1,000 orders/s).
- paced: wrk has no constant-rate mode (wrk2's -R), so each wrk thread paces itself in Lua: a
  schedule of one slot every 1/rate s, `delay()` waits for the next slot (LuaJIT FFI clock). With
  enough connections the offered rate is constant; when every connection is busy the schedule
  restarts from now instead of bursting, so the achieved rate (printed) drops below the target
  and the latency then hides the queueing (coordinated omission); the output says so. Target:
  p99 under 50 ms at 500 orders/s.

Every answer comes after the order's transaction committed (PostgreSQL durability settings are
checked and printed) and, with the default EXCHANGE_PLACE_ORDER_WAIT (2 s), after the matcher
processed it; answers still PENDING_NEW (the wait ran out) are counted. 60 % of the orders are
priced through the whole resting band (100.00 +/- 0.50) and are smaller than resting ones, so they
find liquidity; the share that really traded as takers is read from the database (a warning says
if it is under half). Server CPU time (API, matcher, worker, and the PostgreSQL backends of the
bench database) is read from /proc before and after each phase, with the share of the time each
process waited for a CPU (/proc schedstat: the machine's other load); memory is the resident set
of the API, matcher and worker. There are no rate limits yet (a later issue), so nothing
throttles the load. For latency at a rate the stack sustains: `--phases paced --rate 10`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import emit_json, environment, latency_us
from bench.stack import (
    BENCH_ENV,
    Api,
    Market,
    MemorySampler,
    Stack,
    Trader,
    admin_login,
    create_market,
    drain,
    durability,
    durability_on,
    load_average,
    new_traders,
    operation,
    running_stack,
    server_url,
)

LUA = Path(__file__).resolve().parent / "wrk" / "place_order.lua"
MID_TICKS = 10_000  # 100.00 at tick 0.01
SPREAD_TICKS = 50
MAX_LOTS = 20  # resting orders: up to 0.020 at step 0.001
CROSS_MAX_LOTS = 10  # crossing orders are smaller on average, so the book slowly deepens
CROSS = 0.6
WRK_TIMEOUT_S = 30  # far above the 2 s placeOrder wait: a slow answer is a latency, not an error
_ANSWER_KEYS = (
    "answered",
    "filled",
    "partially_filled",
    "new",
    "pending_new",
    "expired",
    "other_status",
    "error_answers",
    "http_errors",
)
WRK_MISSING = (
    "wrk is not installed: the HTTP load generator this bench uses. Install it with\n"
    "    apt-get update && apt-get install -y wrk\n"
    "or run the (slower, same-machine Python) fallback with --loadgen python."
)


@dataclass(frozen=True)
class Phase:
    name: str
    connections: int
    threads: int
    rate: float  # orders/s in all; 0: unpaced
    duration: float
    prefix: str


# --- load generators ---------------------------------------------------------------------------


def lua_config(path: Path, market: Market, traders: list[Trader], phase: Phase, seed: int) -> None:
    """The Lua table place_order.lua reads with dofile()."""
    tokens = ",\n".join(f"  [==[{t.token}]==]" for t in traders)
    query = json.dumps(operation("spot/place_order"))
    rate_per_thread = phase.rate / phase.threads if phase.rate else 0
    path.write_text(
        "return {\n"
        f" tokens = {{\n{tokens}\n }},\n"
        f" market = [==[{market.symbol}]==],\n"
        f" query_json = [==[{query}]==],\n"
        f" prefix = [==[{phase.prefix}]==],\n"
        f" cross = {CROSS}, mid_ticks = {MID_TICKS}, spread_ticks = {SPREAD_TICKS},\n"
        f" max_lots = {MAX_LOTS}, cross_max_lots = {CROSS_MAX_LOTS}, seed = {seed},\n"
        f" rate_per_thread = {rate_per_thread},\n"
        "}\n"
    )


def run_wrk(stack: Stack, config: Path, phase: Phase) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(WRK_MISSING)
    cmd = [
        wrk,
        f"-t{phase.threads}",
        f"-c{phase.connections}",
        f"-d{max(1, round(phase.duration))}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "-s",
        str(LUA),
        f"{stack.base_url}/graphql",
        "--",
        str(config),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "seconds": raw["duration_us"] / 1e6,
        "requests": raw["requests"],
        "socket_errors": {
            k: raw[f"socket_{k}"] for k in ("connect", "read", "write", "status", "timeout")
        },
        "latency_ms": {
            "p50": raw["latency_p50_us"] / 1000,
            "p90": raw["latency_p90_us"] / 1000,
            "p99": raw["latency_p99_us"] / 1000,
            "p99_9": raw["latency_p99_9_us"] / 1000,
            "max": raw["latency_max_us"] / 1000,
            "mean": raw["latency_mean_us"] / 1000,
        },
        "answers": _answers(raw),
        "first_error": raw["first_error"],
    }


def _answers(raw: dict[str, Any]) -> dict[str, int]:
    return {n: int(raw[n]) for n in _ANSWER_KEYS}


_STATUS = re.compile(rb'"status":\s*"([A-Z_]+)"')
_STATUS_NAMES = {
    b"FILLED": "filled",
    b"PARTIALLY_FILLED": "partially_filled",
    b"NEW": "new",
    b"PENDING_NEW": "pending_new",
    b"EXPIRED": "expired",
}


async def run_python(stack: Stack, market: Market, traders: list[Trader], phase: Phase, seed: int
                     ) -> dict[str, Any]:  # fmt: skip
    """The fallback: the same order stream and pacing from asyncio + httpx in this process (its
    CPU competes with the servers', so prefer wrk)."""
    query = operation("spot/place_order")
    rnd = random.Random(seed)
    answers = dict.fromkeys(_ANSWER_KEYS, 0)
    samples: list[int] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    first_error = ""
    counter = 0
    interval = 1 / phase.rate if phase.rate else 0.0
    next_slot = 0.0
    start = time.perf_counter()
    deadline = start + phase.duration
    limits = httpx.Limits(
        max_connections=phase.connections, max_keepalive_connections=phase.connections
    )

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal counter, next_slot, first_error
        while True:
            now = time.perf_counter()
            if interval:
                next_slot = max(next_slot, now)
                wait, next_slot = next_slot - now, next_slot + interval
                if now + wait >= deadline:
                    return
                await asyncio.sleep(wait)
            elif now >= deadline:
                return
            counter += 1
            buy = rnd.random() < 0.5
            if rnd.random() < CROSS:  # through the whole resting band (as the Lua script)
                ticks = MID_TICKS + (SPREAD_TICKS if buy else -SPREAD_TICKS)
                lots = rnd.randint(1, CROSS_MAX_LOTS)
            else:
                off = rnd.randint(1, SPREAD_TICKS)
                ticks = MID_TICKS + (-off if buy else off)
                lots = rnd.randint(1, MAX_LOTS)
            order = {
                "market": market.symbol,
                "side": "BUY" if buy else "SELL",
                "type": "LIMIT",
                "price": f"{ticks // 100}.{ticks % 100:02d}",
                "quantity": f"{lots // 1000}.{lots % 1000:03d}",
                "clientOrderId": f"{phase.prefix}-0-{counter}",
            }
            token = traders[counter % len(traders)].token
            t0 = time.perf_counter_ns()
            try:
                response = await http.post(
                    "/graphql",
                    json={"query": query, "variables": {"input": order}},
                    headers={"authorization": f"Bearer {token}"},
                )
            except httpx.TimeoutException:
                errors["timeout"] += 1
                continue
            except httpx.HTTPError:
                errors["read"] += 1
                continue
            samples.append(time.perf_counter_ns() - t0)
            body = response.content
            if response.status_code != 200:
                errors["status"] += 1
                answers["http_errors"] += 1
                first_error = first_error or body[:300].decode(errors="replace")
            elif b'"__typename": "Order"' in body or b'"__typename":"Order"' in body:
                answers["answered"] += 1
                m = _STATUS.search(body)
                answers[_STATUS_NAMES.get(m.group(1) if m else b"", "other_status")] += 1
            else:
                answers["error_answers"] += 1
                first_error = first_error or body[:300].decode(errors="replace")

    async with httpx.AsyncClient(
        base_url=stack.base_url, timeout=WRK_TIMEOUT_S, limits=limits
    ) as http:
        await asyncio.gather(*(one(http) for _ in range(phase.connections)))
    seconds = time.perf_counter() - start
    lat = latency_us(samples)
    return {
        "seconds": seconds,
        "requests": len(samples),
        "socket_errors": errors,
        "latency_ms": {
            "p50": lat["p50_us"] / 1000,
            "p90": _pct(samples, 0.90),
            "p99": lat["p99_us"] / 1000,
            "p99_9": _pct(samples, 0.999),
            "max": lat["max_us"] / 1000,
            "mean": round(sum(samples) / max(len(samples), 1) / 1e6, 3),
        },
        "answers": answers,
        "first_error": first_error,
    }


def _pct(samples: list[int], fraction: float) -> float:
    from bench.common import percentile

    return round(percentile(sorted(samples), fraction) / 1e6, 3)


# --- one phase ---------------------------------------------------------------------------------


def database_figures(stack: Stack, market: Market, prefix: str) -> dict[str, Any]:
    """What the database holds of a phase's orders: count, statuses, and how many traded as
    takers (crossed the book when the matcher reached them)."""
    pattern = prefix.replace("_", r"\_") + "-%"
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        total, pending = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'PENDING_NEW') FROM orders"
            " WHERE market = %s AND client_order_id LIKE %s",
            (market.symbol, pattern),
        ).fetchone() or (0, 0)
        takers, fills = conn.execute(
            "SELECT count(DISTINCT f.taker_order_id), count(*) FROM fills f"
            " JOIN orders o ON o.id = f.taker_order_id"
            " WHERE f.market = %s AND o.client_order_id LIKE %s",
            (market.symbol, pattern),
        ).fetchone() or (0, 0)
    return {
        "orders": int(total),
        "still_pending_new": int(pending),
        "taker_orders": int(takers),
        "trades": int(fills),
        "crossing_share": round(int(takers) / max(int(total), 1), 3),
    }


def start_profilers(
    pids: dict[str, int], phase: Phase, folder: Path
) -> list[subprocess.Popen[bytes]]:
    """py-spy on each server process for the phase (raw collapsed stacks, one file each)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    options = ["--duration", str(max(1, round(phase.duration))), "--format", "raw", "--nonblocking"]
    return [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), *options, "-o", f"{folder}/{phase.name}-{name}.txt"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


async def run_phase(
    stack: Stack,
    market: Market,
    traders: list[Trader],
    phase: Phase,
    loadgen: str,
    seed: int,
    workdir: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    pids = {k: v for k, v in stack.pids().items() if k in ("api", "matcher", "worker")}
    load_before = load_average()
    profilers = start_profilers(pids, phase, profile) if profile and phase.name != "warmup" else []
    cpu0 = stack.cpu()
    with MemorySampler(pids) as memory:
        if loadgen == "wrk":
            config = workdir / f"{phase.prefix}.lua"
            lua_config(config, market, traders, phase, seed)
            load = await asyncio.to_thread(run_wrk, stack, config, phase)
        else:
            load = await run_python(stack, market, traders, phase, seed)
    cpu1 = stack.cpu()
    cpu, waited = cpu1.minus(cpu0), cpu1.waited(cpu0)
    for spy in profilers:
        spy.wait()
    stack.check_alive()
    await asyncio.sleep(0.5)  # let the matcher finish the last batch before counting
    db = database_figures(stack, market, phase.prefix)
    answered = load["answers"]["answered"]
    seconds = load["seconds"]
    ops = max(answered, 1)
    cpu_ms = {k: round(v * 1000 / ops, 3) for k, v in cpu.items()}
    cpu_ms["server"] = round(cpu_ms["api"] + cpu_ms["matcher"], 3)
    return {
        "phase": phase.name,
        "connections": phase.connections,
        "threads": phase.threads,
        "target_rate": phase.rate or None,
        "seconds": round(seconds, 2),
        "orders_per_s": round(answered / seconds, 1) if seconds else 0.0,
        "requests": load["requests"],
        "answers": load["answers"],
        "socket_errors": load["socket_errors"],
        "latency_ms": load["latency_ms"],
        "database": db,
        "cpu_ms_per_order": cpu_ms,
        "cpu_share_of_wall": {k: round(v / seconds, 3) for k, v in cpu.items()} if seconds else {},
        "runqueue_wait_share": waited,
        "peak_rss_mb": {k: round(v, 1) for k, v in memory.max_rss.items()},
        "load_average": {"before": load_before, "after": load_average()},
        "first_error": load["first_error"] or None,
    }


def describe(row: dict[str, Any]) -> str:
    lat, cpu, db, ans = row["latency_ms"], row["cpu_ms_per_order"], row["database"], row["answers"]
    target = f" (target {row['target_rate']:g}/s)" if row["target_rate"] else ""
    return (
        f"{row['phase']:>10}: {row['orders_per_s']:,.1f} orders/s{target} over {row['seconds']} s,"
        f" {row['connections']} connections; latency p50 {lat['p50']:.1f} ms, p99"
        f" {lat['p99']:.1f} ms, max {lat['max']:.1f} ms\n"
        f"{'':>12}answers {ans['answered']:,} (filled {ans['filled']:,}, partial"
        f" {ans['partially_filled']:,}, resting {ans['new']:,}, still PENDING_NEW after the wait"
        f" {ans['pending_new']:,}); errors: {ans['error_answers']} typed,"
        f" {ans['http_errors']} HTTP, socket {row['socket_errors']}\n"
        f"{'':>12}database: {db['orders']:,} orders, {db['trades']:,} trades,"
        f" {db['crossing_share']:.0%} traded as takers\n"
        f"{'':>12}server CPU ms/order: api {cpu['api']}, matcher {cpu['matcher']}, worker"
        f" {cpu['worker']}, postgres {cpu['postgres']} (api+matcher {cpu['server']});"
        f" peak RSS MiB {row['peak_rss_mb']}\n"
        f"{'':>12}waiting for a CPU (share of wall): {row['runqueue_wait_share']};"
        f" load average {row['load_average']['after']}"
    )


UNREACHED = "; the rate was NOT reached: connections queued, so latency is understated"


def check_targets(rows: list[dict[str, Any]], rate: float) -> list[str]:
    """Reported, never asserted."""
    notes = []
    for row in rows:
        if row["phase"] == "throughput":
            ok = row["orders_per_s"] >= 1000
            notes.append(
                f"throughput target 1,000 orders/s: {'met' if ok else 'NOT met'}"
                f" ({row['orders_per_s']:,.1f}/s)"
            )
        if row["phase"] == "paced":
            reached = row["orders_per_s"] >= 0.95 * rate
            ok = reached and row["latency_ms"]["p99"] < 50 and rate >= 500
            notes.append(
                f"p99 < 50 ms at 500 orders/s: {'met' if ok else 'NOT met'} (p99"
                f" {row['latency_ms']['p99']:.1f} ms at {row['orders_per_s']:,.1f}/s of"
                f" {rate:g}/s offered{'' if reached else UNREACHED})"
            )
        if row["database"]["crossing_share"] < 0.5:
            notes.append(f"{row['phase']}: fewer than half of the orders traded as takers")
        if row["answers"]["pending_new"]:
            notes.append(
                f"{row['phase']}: {row['answers']['pending_new']} answers came back PENDING_NEW"
                " (the matcher did not report them within EXCHANGE_PLACE_ORDER_WAIT)"
            )
    return notes


async def bench(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        api = Api(http)
        admin = await admin_login(api)
        market = await create_market(api, admin, stack)
        t0 = time.perf_counter()
        traders = await new_traders(api, admin, market, args.traders)
        setup_s = time.perf_counter() - t0
    print(
        f"set up {market.symbol} and {len(traders)} funded traders in {setup_s:.1f} s;"
        f" load from {args.loadgen}",
        flush=True,
    )
    phases = []
    if args.warmup > 0:
        phases.append(Phase("warmup", args.connections, args.threads, 0, args.warmup, f"{run_id}w"))
    for name in args.phases.split(","):
        if name == "throughput":
            phases.append(
                Phase(name, args.connections, args.threads, 0, args.duration, f"{run_id}t")
            )
        elif name == "paced":
            phases.append(
                Phase(
                    name,
                    args.paced_connections,
                    args.threads,
                    args.rate,
                    args.duration,
                    f"{run_id}p",
                )
            )
        else:
            raise SystemExit(f"unknown phase {name!r} (throughput, paced)")
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        for i, phase in enumerate(phases):
            left = await drain(stack, market)
            row = await run_phase(
                stack, market, traders, phase, args.loadgen, args.seed + i, workdir, args.profile
            )
            row["pending_new_before"] = left
            print(describe(row), flush=True)
            if phase.name != "warmup":
                rows.append(row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"market": market.symbol, "rows": rows, "memory_end": stack.memory()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of unmeasured load")
    parser.add_argument("--phases", default="throughput,paced")
    parser.add_argument("--connections", type=int, default=64, help="throughput phase")
    parser.add_argument("--paced-connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500, help="paced phase: orders/s offered")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--traders", type=int, default=100)
    parser.add_argument("--loadgen", choices=("wrk", "python"), default="wrk")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", type=Path, help="folder for py-spy profiles (raw) of each server process"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stack: Stack | None = None) -> dict[str, Any]:
    """Runs the bench on a stack of its own (or on `stack`: the smoke test shares one)."""
    args = parse_args(argv)
    if args.loadgen == "wrk" and shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        raise SystemExit(2)
    durable = durability(server_url())
    if not durability_on(durable):
        print(f"WARNING: PostgreSQL durability is not fully on: {durable}", flush=True)
    print(
        f"placeOrder bench: PostgreSQL {durable}; load average {load_average()} on"
        f" {os.cpu_count()} CPUs; rate limits off (EXCHANGE_RATE_LIMITS=off)",
        flush=True,
    )
    if stack is None:
        with running_stack("bench_api") as own:
            result = asyncio.run(bench(args, own))
    else:
        result = asyncio.run(bench(args, stack))
    for note in check_targets(result["rows"], args.rate):
        print(f"  {note}")
    figures: dict[str, Any] = {
        "bench": "api_place_order",
        "phases": result["rows"],
        "memory_end_mb": result["memory_end"],
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "paced_connections": args.paced_connections,
            "rate": args.rate,
            "threads": args.threads,
            "traders": args.traders,
            "loadgen": args.loadgen,
            "cross_fraction": CROSS,
            "book": {
                "resting": f"{MID_TICKS / 100:.2f} +/- 0.01..{SPREAD_TICKS / 100:.2f},"
                f" 0.001..{MAX_LOTS / 1000:.3f}",
                "crossing": f"through the band, 0.001..{CROSS_MAX_LOTS / 1000:.3f}",
            },
            "place_order_wait_s": float(os.environ.get("EXCHANGE_PLACE_ORDER_WAIT", "2")),
            "rate_limits": "none exist yet",
            "stack_env": BENCH_ENV,
            **durable,
        },
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        **environment(),
    }
    emit_json(figures)
    return figures


if __name__ == "__main__":
    main()
