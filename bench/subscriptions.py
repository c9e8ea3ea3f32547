"""Live trade delivery to many WebSocket subscribers of one market, against the real server.

    python -m bench.subscriptions [--subscribers 1000] [--rate 10] [--duration 60] [--warmup 5]
                                  [--feed auto|trades|myOrders|redis] [--client-procs 1]

Starts the real stack (bench/stack.py), makes a market and two funded traders, and starts the
subscribers in separate processes (`--client`; the `websockets` library speaking
graphql-transport-ws directly: connection_init, connection_ack, subscribe, next...). Once every
subscriber has received a first message, the driver makes `--rate` trades per second for
`--duration` seconds (a resting SELL from one trader, then a crossing BUY from the other, both
through placeOrder over HTTP) and the subscribers time each delivery.

Feeds (`auto` picks `trades` when the running server's schema has `subscription { trades }`, else
`myOrders`, and says so):

- trades: `trades(market)`, anonymous. Latency = receive time - the trade's `executedAt`, which
  is the matcher batch's timestamp, taken before the batch is written and committed: an upper
  bound of commit-to-receipt that includes the batch's write and commit.
- myOrders: every subscriber authenticates as the maker, so each maker order change reaches all
  of them; latency = receive time - the order's `updatedAt` (the same batch timestamp). The
  server re-reads the orders from PostgreSQL for every subscriber and message.
- redis: no API at all: the subscribers SUBSCRIBE to the matcher's `market:<S>:trades` channel
  directly (the raw fan-out the API's hub sits on); latency = receive time - the trade's `at`.

Reported: delivery latency p50/p99/max (target p99 under 100 ms), messages delivered against
trades x subscribers, the API's resident memory with every subscription open (target under
300 MB) and its growth per subscription, server CPU time per delivered message, and the
subscriber process's own CPU and event-loop lag (it shares the machine: a busy client adds
latency of its own). Same clock for both ends: everything runs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import orjson
import psycopg
import uvloop

from bench.common import emit_json, environment, latency_us, percentile
from bench.stack import (
    Api,
    Market,
    MemorySampler,
    Stack,
    Trader,
    admin_login,
    create_market,
    durability,
    durability_on,
    load_average,
    new_traders,
    operation,
    running_stack,
    server_url,
)
from bench.ws_subscriber import GraphQLSubscriber

FEEDS = ("trades", "myOrders", "redis")
TRADES_DOC = operation("market_data/on_trades")
MY_ORDERS_DOC = "subscription OnMyOrders { myOrders { id status filledQuantity updatedAt } }"
CONNECT_CONCURRENCY = 50
PRIME_WITHIN_S = 60.0


# --- the subscriber process --------------------------------------------------------------------


class Recorder:
    """Per-subscriber counts and delivery latencies inside the measured window."""

    def __init__(self, subscribers: int) -> None:
        self.subscribers = subscribers
        self.subscribed = 0
        self.primed: set[int] = set()
        self.failures: list[str] = []
        self.recording = False
        self.window = (0.0, float("inf"))
        self.samples_ns: list[int] = []
        self.counts = [0] * subscribers
        self.ids: set[str] = set()
        self.lags_ns: list[int] = []
        self.primed_event = asyncio.Event()
        self.subscribed_event = asyncio.Event()

    def mark_subscribed(self) -> None:
        self.subscribed += 1
        if self.subscribed == self.subscribers:
            self.subscribed_event.set()

    def fail(self, index: int, why: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(f"subscriber {index}: {why}")
        self.mark_subscribed()  # never wait for a subscriber that is gone

    def receive(self, index: int, received: float, item_id: str, at: str) -> None:
        if index not in self.primed:
            self.primed.add(index)
            if len(self.primed) == self.subscribers:
                self.primed_event.set()
        if not self.recording:
            return
        sent = datetime.fromisoformat(at).timestamp()
        if not self.window[0] <= sent <= self.window[1]:
            return
        self.samples_ns.append(round((received - sent) * 1e9))
        self.counts[index] += 1
        self.ids.add(item_id)

    def result(self) -> dict[str, Any]:
        lags = sorted(self.lags_ns)
        return {
            "subscribers": self.subscribers,
            "primed": len(self.primed),
            "failures": self.failures,
            "messages": len(self.samples_ns),
            "distinct_items": len(self.ids),
            "per_subscriber_min": min(self.counts) if self.counts else 0,
            "per_subscriber_max": max(self.counts) if self.counts else 0,
            "latency_ns": self.samples_ns,
            "loop_lag_ms": {
                "p50": round(percentile(lags, 0.5) / 1e6, 2),
                "p99": round(percentile(lags, 0.99) / 1e6, 2),
                "max": round((lags[-1] if lags else 0) / 1e6, 2),
            },
            "cpu_s": round(time.process_time(), 2),
        }


async def _graphql_subscriber(
    i: int, cfg: dict[str, Any], rec: Recorder, gate: asyncio.Semaphore
) -> None:
    feed = cfg["feed"]
    init = {"authorization": f"Bearer {cfg['token']}"} if cfg.get("token") else {}
    if feed == "trades":
        query, variables, key, stamp = TRADES_DOC, {"market": cfg["market"]}, "trades", "executedAt"
    else:
        query, variables, key, stamp = MY_ORDERS_DOC, {}, "myOrders", "updatedAt"

    def on_next(payload: dict[str, Any], arrived: float) -> None:
        item = (payload.get("data") or {}).get(key)
        if item is None:
            rec.fail(i, f"next without data: {str(payload)[:200]}")
            return
        rec.receive(i, arrived, f"{item['id']}:{item.get('status', '')}", item[stamp])

    url = urlsplit(cfg["url"])
    subscriber = GraphQLSubscriber(
        cfg["url"], init, {"query": query, "variables": variables}, on_next
    )
    try:
        async with gate:
            await asyncio.get_running_loop().create_connection(
                lambda: subscriber, url.hostname, url.port
            )
            await asyncio.wait_for(asyncio.shield(subscriber.subscribed), 60)
        rec.mark_subscribed()
    except Exception as exc:
        subscriber.close()
        rec.fail(i, f"{type(exc).__name__}: {exc}")
        return
    try:
        why = await subscriber.closed
        rec.fail(i, f"closed: {why}")
    finally:
        subscriber.close()


async def _redis_subscriber(
    i: int, cfg: dict[str, Any], rec: Recorder, gate: asyncio.Semaphore
) -> None:
    import redis.asyncio as aioredis

    channel = f"market:{cfg['market']}:trades"
    try:
        async with gate:
            client = aioredis.from_url(cfg["redis_url"])
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel)
        rec.mark_subscribed()
    except Exception as exc:
        rec.fail(i, f"{type(exc).__name__}: {exc}")
        return
    try:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            received = time.time()
            body = orjson.loads(message["data"])
            for trade in body["trades"]:
                rec.receive(i, received, str(trade["id"]), trade.get("at") or body["at"])
    except Exception as exc:
        rec.fail(i, f"closed: {type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()


async def _loop_lag(rec: Recorder) -> None:
    """How late this process's event loop wakes a 10 ms sleeper (its own queueing delay)."""
    while True:
        t0 = time.perf_counter_ns()
        await asyncio.sleep(0.01)
        if rec.recording:
            rec.lags_ns.append(time.perf_counter_ns() - t0 - 10_000_000)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def client_main(cfg: dict[str, Any]) -> None:
    """Protocol on stdin/stdout: prints SUBSCRIBED and PRIMED; reads `START <t>` (record
    deliveries of items stamped from t on), then `STOP <t>` (up to t): prints `RESULT {json}`."""
    loop = asyncio.get_running_loop()
    rec = Recorder(cfg["subscribers"])
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    one = _redis_subscriber if cfg["feed"] == "redis" else _graphql_subscriber
    tasks = [asyncio.create_task(one(i, cfg, rec, gate)) for i in range(cfg["subscribers"])]
    lag = asyncio.create_task(_loop_lag(rec))
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "STOP")

    threading.Thread(target=read_stdin, daemon=True).start()
    await rec.subscribed_event.wait()
    _say(f"SUBSCRIBED {rec.subscribed - len(rec.failures)} {json.dumps(rec.failures[:3])}")

    async def primed() -> None:
        await rec.primed_event.wait()
        _say("PRIMED")

    primer = asyncio.create_task(primed())
    while True:
        command = await commands.get()
        verb, _, arg = command.partition(" ")
        if verb == "START":
            rec.window = (float(arg), float("inf"))
            rec.recording = True
        elif verb == "STOP":
            if arg:
                rec.window = (rec.window[0], float(arg))
            rec.recording = False
            break
    _say("RESULT " + json.dumps(rec.result()))
    for task in (*tasks, lag, primer):
        task.cancel()
    await asyncio.gather(*tasks, lag, primer, return_exceptions=True)


# --- the driver --------------------------------------------------------------------------------


class Client:
    """One subscriber process and its line protocol."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.subscriptions", "--client", json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        self.lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        out: IO[str] = self.proc.stdout  # type: ignore[assignment]

        def pump() -> None:
            for line in out:
                loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self.lines.put_nowait, "EOF")

        threading.Thread(target=pump, daemon=True).start()

    async def expect(self, prefix: str, within: float) -> str:
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"subscriber process: no {prefix} within {within} s")
            line = await asyncio.wait_for(self.lines.get(), remaining)
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
            if line == "EOF":
                raise RuntimeError(f"subscriber process exited before {prefix}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


async def detect_feed(api: Api) -> bool:
    """Whether the running server offers `subscription { trades(market) }`."""
    data = await api.run('{ __type(name: "Subscription") { fields { name } } }')
    fields = (data.get("__type") or {}).get("fields") or []
    return any(f["name"] == "trades" for f in fields)


class TradeMaker:
    """`rate` trades a second: each tick one trader rests a SELL and the other crosses it."""

    def __init__(self, api: Api, market: Market, maker: Trader, taker: Trader) -> None:
        self.api, self.market, self.maker, self.taker = api, market, maker, taker
        self.counter = 0
        self.errors: list[str] = []
        self.placed = 0
        self.latencies_ns: list[int] = []

    async def _place(self, trader: Trader, side: str) -> None:
        self.counter += 1
        order = {
            "market": self.market.symbol, "side": side, "type": "LIMIT", "price": "100.00",
            "quantity": "0.001", "clientOrderId": f"s{os.getpid()}-{self.counter}",
        }  # fmt: skip
        t0 = time.perf_counter_ns()
        data = await self.api.op("spot/place_order", {"input": order}, token=trader.token)
        self.latencies_ns.append(time.perf_counter_ns() - t0)
        result = data["placeOrder"]
        if result["__typename"] != "Order" and len(self.errors) < 10:
            self.errors.append(str(result))
        self.placed += 1

    async def _tick(self) -> None:
        try:
            await self._place(self.maker, "SELL")
            await self._place(self.taker, "BUY")
        except Exception as exc:
            if len(self.errors) < 10:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    async def run(self, rate: float, seconds: float, stop: asyncio.Event | None = None) -> None:
        """Ticks on a fixed schedule (a slow answer does not delay the next tick)."""
        start = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()
        i = 0
        while True:
            due = start + i / rate
            if due - start >= seconds or (stop is not None and stop.is_set()):
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            task = asyncio.create_task(self._tick())
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        if pending:
            await asyncio.wait(pending, timeout=30)


def trades_between(stack: Stack, market: Market, start: float, end: float) -> int:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM fills WHERE market = %s"
            " AND executed_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
            (market.symbol, start, end),
        ).fetchone()
    return int(row[0]) if row else 0


async def bench(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=stack.base_url, timeout=30, limits=httpx.Limits(max_connections=200)
    ) as http:
        api = Api(http)
        admin = await admin_login(api)
        market = await create_market(api, admin, stack)
        maker, taker = await new_traders(api, admin, market, 2)
        has_trades = await detect_feed(api)
        feed = args.feed
        note = None
        if feed == "auto":
            feed = "trades" if has_trades else "myOrders"
            if not has_trades:
                note = (
                    "the server has no `subscription { trades(market) }` yet: measured myOrders"
                    " instead (every subscriber is the maker; the server re-reads the orders"
                    " from PostgreSQL per subscriber and message)"
                )
        elif feed == "trades" and not has_trades:
            raise SystemExit("the server has no `subscription { trades }`; use --feed auto")
        if note:
            print(f"NOTE: {note}", flush=True)
        per_proc = [
            args.subscribers // args.client_procs + (1 if i < args.subscribers % args.client_procs
                                                     else 0)
            for i in range(args.client_procs)
        ]  # fmt: skip
        api_pid = stack.pids()["api"]
        idle_memory = stack.memory()["api"]
        cfg = {
            "url": stack.ws_url,
            "redis_url": stack.env["REDIS_URL"],
            "market": market.symbol,
            "feed": feed,
            "token": maker.token if feed == "myOrders" else None,
        }
        clients = [Client({**cfg, "subscribers": n}) for n in per_proc if n]
        maker_load = TradeMaker(api, market, maker, taker)
        try:
            t0 = time.perf_counter()
            subscribed = [await c.expect("SUBSCRIBED", 300) for c in clients]
            connect_s = time.perf_counter() - t0
            print(f"{args.subscribers} subscribers ({feed}) connected in {connect_s:.1f} s: "
                  f"{subscribed}", flush=True)  # fmt: skip
            open_memory = stack.memory()["api"]
            # Warm-up: trades until every subscriber has had one (their subscriptions are live).
            primed = asyncio.Event()
            warm = asyncio.create_task(maker_load.run(args.rate, 3600, primed))
            try:
                for c in clients:
                    await c.expect("PRIMED", PRIME_WITHIN_S)
            except TimeoutError:
                warning = (
                    f"not every subscriber had a first message within {PRIME_WITHIN_S:g} s"
                    f" ({maker_load.placed} orders placed, errors {maker_load.errors[:2]});"
                    " measuring anyway (see `primed` per client)"
                )
                print(f"WARNING: {warning}", flush=True)
                note = f"{note}; {warning}" if note else warning
            finally:
                primed.set()
                await warm
            await maker_load.run(args.rate, args.warmup)
            stack.check_alive()
            # The measured window.
            maker_load.latencies_ns.clear()
            load_before = load_average()
            cpu0 = stack.cpu()
            start = time.time()
            for c in clients:
                c.send(f"START {start}")
            with MemorySampler({"api": api_pid}) as sampler:
                await maker_load.run(args.rate, args.duration)
                end = time.time()
                await asyncio.sleep(2)  # deliveries in flight
            cpu1 = stack.cpu()
            cpu, waited = cpu1.minus(cpu0), cpu1.waited(cpu0)
            for c in clients:
                c.send(f"STOP {end}")
            results = [json.loads(await c.expect("RESULT", 120)) for c in clients]
        finally:
            for c in clients:
                c.close()
    trades = trades_between(stack, market, start, end)
    samples: list[int] = []
    for r in results:
        samples.extend(r.pop("latency_ns"))
    messages = sum(r["messages"] for r in results)
    lat = latency_us(samples)
    window = end - start
    # Expected: every trade of the window to every subscriber (the window's edges can differ by
    # a trade between the database's count and what the subscribers saw: take the larger).
    seen = max((r["distinct_items"] for r in results), default=0)
    expected = max(trades, seen) * args.subscribers
    delivered_share = messages / max(expected, 1) if feed != "myOrders" else None
    return {
        "feed": feed,
        "note": note,
        "market": market.symbol,
        "trades": trades,
        "trades_per_s": round(trades / window, 2),
        "window_s": round(window, 2),
        "messages": messages,
        "delivered_share": round(delivered_share, 4) if delivered_share is not None else None,
        "latency_ms": {k.removesuffix("_us"): round(v / 1000, 2) for k, v in lat.items()},
        "api_rss_mb": {
            "before_subscribers": idle_memory["rss_mb"],
            "subscribed_idle": open_memory["rss_mb"],
            "peak_during": sampler.max_rss["api"],
            "per_subscription_kb": round(
                (open_memory["rss_mb"] - idle_memory["rss_mb"]) * 1024 / args.subscribers, 1
            ),
        },
        "server_cpu_ms": {
            "api_per_message": round(cpu["api"] * 1000 / messages, 4) if messages else None,
            "api_per_trade": round(cpu["api"] * 1000 / max(trades, 1), 2),
            "matcher_per_trade": round(cpu["matcher"] * 1000 / max(trades, 1), 2),
            "api_share_of_wall": round(cpu["api"] / window, 3),
            "worker_share_of_wall": round(cpu["worker"] / window, 3),
            "postgres_share_of_wall": round(cpu["postgres"] / window, 3),
        },
        "runqueue_wait_share": waited,
        "place_order_ms": {
            k.removesuffix("_us"): round(v / 1000, 1)
            for k, v in latency_us(maker_load.latencies_ns).items()
        },
        "trade_maker_errors": maker_load.errors,
        "clients": results,
        "connect_s": round(connect_s, 1),
        "load_average": {"before": load_before, "after": load_average()},
    }


def describe(r: dict[str, Any], subscribers: int) -> str:
    lat, rss, cpu = r["latency_ms"], r["api_rss_mb"], r["server_cpu_ms"]
    share = f" ({r['delivered_share']:.2%} of trades x subscribers)" if r["delivered_share"] else ""
    lag = [c["loop_lag_ms"] for c in r["clients"]]
    return (
        f"{r['feed']}: {subscribers} subscribers, {r['trades']} trades in {r['window_s']} s"
        f" ({r['trades_per_s']}/s); {r['messages']:,} deliveries{share}\n"
        f"  delivery latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms\n"
        f"  API RSS MiB: {rss['before_subscribers']} before, {rss['subscribed_idle']} with all"
        f" subscribed, peak {rss['peak_during']} ({rss['per_subscription_kb']} KiB each)\n"
        f"  server CPU: api {cpu['api_per_message']} ms/delivery ({cpu['api_share_of_wall']:.0%}"
        f" of a core), matcher {cpu['matcher_per_trade']} ms/trade\n"
        f"  subscriber processes: {sum(c['primed'] for c in r['clients'])} of {subscribers} had"
        f" a message before the window; CPU {[c['cpu_s'] for c in r['clients']]} s, loop lag {lag};"
        f" failures {sum(len(c['failures']) for c in r['clients'])}"
        f" {[f for c in r['clients'] for f in c['failures']][:3]}\n"
        f"  placeOrder while driving trades: {r['place_order_ms']} ms;"
        f" errors {r['trade_maker_errors'][:3]}\n"
        f"  waiting for a CPU (share of wall): {r['runqueue_wait_share']};"
        f" load average {r['load_average']['after']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10, help="trades per second")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of trades before")
    parser.add_argument("--feed", choices=("auto", *FEEDS), default="auto")
    parser.add_argument("--client-procs", type=int, default=1, help="subscriber processes")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stack: Stack | None = None) -> dict[str, Any] | None:
    """Runs the bench on a stack of its own (or on `stack`: the smoke test shares one)."""
    args = parse_args(argv)
    if args.client:
        uvloop.run(client_main(json.loads(args.client)))  # the server's loop, for a lean client
        return None
    durable = durability(server_url())
    if not durability_on(durable):
        print(f"WARNING: PostgreSQL durability is not fully on: {durable}", flush=True)
    print(
        f"subscriptions bench: PostgreSQL {durable}; load average {load_average()} on"
        f" {os.cpu_count()} CPUs",
        flush=True,
    )
    if stack is None:
        with running_stack("bench_subs") as own:
            result = asyncio.run(bench(args, own))
    else:
        result = asyncio.run(bench(args, stack))
    print(describe(result, args.subscribers))
    lat, rss = result["latency_ms"], result["api_rss_mb"]
    p99_ok = "met" if lat["p99"] < 100 else "NOT met"
    if not result["messages"]:
        p99_ok = "NOT met (nothing was delivered in the window)"
    rss_ok = "met" if rss["peak_during"] < 300 else "NOT met"
    print(
        f"  targets (reported, not asserted): p99 < 100 ms: {p99_ok};"
        f" API RSS < 300 MB with all open: {rss_ok}"
        + (" (redis feed: no API subscriptions)" if result["feed"] == "redis" else "")
    )
    figures: dict[str, Any] = {
        "bench": "subscriptions",
        **result,
        "settings": {
            "subscribers": args.subscribers,
            "rate": args.rate,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "feed_requested": args.feed,
            "client_procs": args.client_procs,
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
