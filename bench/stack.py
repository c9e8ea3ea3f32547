"""The real stack for end-to-end benchmarks: `exchange api`, `exchange worker` and
`exchange matcher` as subprocesses against a fresh, migrated database on DATABASE_URL's server;
torn down after.

Also: a small GraphQL client (the operation documents in graphql/operations), markets and funded
traders made through the API as an admin, and per-process CPU time and memory read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg

from backend.db.engine import libpq_url

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "graphql" / "operations"
ADMIN_EMAIL = "bench-admin@exchange.bench"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway database's admin
TRADER_PASSWORD = "bench-trader-password"  # noqa: S105
COMPONENTS = ("api", "worker", "matcher")
_CLK_TCK = os.sysconf("SC_CLK_TCK")

BENCH_ENV = {
    # Resting orders pile up over a run: lift the per-user open-order limits (not what is
    # measured). Everything else, including the placeOrder wait, keeps its default.
    "EXCHANGE_MAX_OPEN_ORDERS": str(10**9),
    "EXCHANGE_MAX_OPEN_STOP_ORDERS": str(10**9),
    # A benchmark is one client flooding from one IP: rate limits off (the documented switch).
    "EXCHANGE_RATE_LIMITS": "off",
}

# Password hashing only runs while the traders are set up (never in a measured phase), so the
# bench servers hash cheaply, as the test suite's do; placeOrder authenticates by token digest.
CHEAP_ARGON2 = {
    "EXCHANGE_ARGON2_TIME_COST": "1",
    "EXCHANGE_ARGON2_MEMORY_KIB": "1024",
    "EXCHANGE_ARGON2_PARALLELISM": "1",
}


def server_url() -> str:
    """DATABASE_URL as libpq wants it; the bench refuses to run without a real server."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(
            "set DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) and REDIS_URL"
        )
    return libpq_url(url)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def durability(url: str) -> dict[str, str]:
    """The server's durability settings (the benchmarks are meant to run with them on)."""
    with psycopg.connect(url) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }


def durability_on(settings: dict[str, str]) -> bool:
    return settings == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- processes: CPU time and memory from /proc -------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (/proc schedstat): how
    much other load on the machine held this process back."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue
    return total / 1e9


def memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident set size in MiB."""
    out = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return out
    for line in lines:
        if line.startswith("VmRSS:"):
            out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
        elif line.startswith("VmHWM:"):
            out["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def postgres_backend_pids(url: str, database: str) -> list[int]:
    """Server processes of the connections to `database` (the bench's own are excluded)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return [int(r[0]) for r in rows]


@dataclass
class CpuSnapshot:
    """CPU seconds per component, and per PostgreSQL backend of the bench database."""

    components: dict[str, float]
    backends: dict[int, float]
    wall: float
    waits: dict[str, float] = field(default_factory=dict)

    def waited(self, before: CpuSnapshot) -> dict[str, float]:
        """Share of the wall time since `before` each component's threads spent waiting for a
        CPU (summed over threads, so it can pass 1 for a process with busy threads)."""
        wall = self.wall - before.wall
        return {
            k: round((v - before.waits.get(k, 0.0)) / wall, 3) if wall > 0 else 0.0
            for k, v in self.waits.items()
        }

    def minus(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds used since `before`, per component and `postgres` (backends alive at
        the end; a backend that exited in between is missed, a new one counts from zero)."""
        used = {k: v - before.components.get(k, 0.0) for k, v in self.components.items()}
        used["postgres"] = sum(
            v - before.backends.get(pid, 0.0) for pid, v in self.backends.items()
        )
        return used


class MemorySampler:
    """Samples the RSS of some processes every `interval` seconds in a thread; keeps the max."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        import threading

        self.pids, self.interval = pids, interval
        self.max_rss: dict[str, float] = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            rss = memory_mb(pid)["rss_mb"]
            self.max_rss[name] = max(self.max_rss[name], rss)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class Stack:
    """A running API, worker and matcher on their own fresh database."""

    base_url: str
    database_url: str
    database: str
    admin_url: str
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _log_files: list[IO[bytes]] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()}

    def cpu(self) -> CpuSnapshot:
        return CpuSnapshot(
            {name: cpu_seconds(p.pid) for name, p in self.procs.items()},
            {pid: cpu_seconds(pid) for pid in postgres_backend_pids(self.admin_url, self.database)},
            time.perf_counter(),
            {name: runqueue_wait_seconds(p.pid) for name, p in self.procs.items()},
        )

    def memory(self) -> dict[str, dict[str, float]]:
        return {name: memory_mb(p.pid) for name, p in self.procs.items()}

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"server processes exited: {dead}\n{self.log_tails()}")

    def log_tails(self, chars: int = 3000) -> str:
        out = []
        for name in self.procs:
            path = self.logs / f"{name}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            out.append(f"--- {name}.log ---\n{text[-chars:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self._log_files:
            f.close()


def stack_env(database_url: str, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        **CHEAP_ARGON2,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url(),
        "EXCHANGE_HOST": "127.0.0.1",
        "EXCHANGE_PORT": str(port),
        "EXCHANGE_QUEUE_NAMESPACE": f"bench_{uuid.uuid4().hex[:10]}",
        "EXCHANGE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "EXCHANGE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "EXCHANGE_LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


@contextmanager
def running_stack(
    prefix: str = "bench",
    extra_env: dict[str, str] | None = None,
    keep_logs: bool = False,
    commands: dict[str, list[str]] | None = None,
) -> Iterator[Stack]:
    """Create and migrate a database, start the three components, wait for /readyz; on exit
    stop them and drop the database. Logs go to a temporary folder (printed on failure).
    `commands` replaces a component's command line (say, a patched build to compare)."""
    admin_url = server_url()
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    database_url = admin_url.rsplit("/", 1)[0] + f"/{database}"
    port = free_port()
    env = stack_env(database_url, port, {**BENCH_ENV, **(extra_env or {})})
    logs = Path(tempfile.mkdtemp(prefix=f"{prefix}-logs-"))
    stack = Stack(f"http://127.0.0.1:{port}", database_url, database, admin_url, env, logs)
    failed = True
    try:
        exe = [sys.executable, "-m", "backend.cli"]
        migrate = subprocess.run(
            [*exe, "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"migration failed:\n{migrate.stdout}\n{migrate.stderr}")
        for name in COMPONENTS:
            out = (logs / f"{name}.log").open("wb")
            stack._log_files.append(out)
            command = (commands or {}).get(name) or [*exe, name]
            stack.procs[name] = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        _wait_ready(stack)
        failed = False
        yield stack
    except BaseException:
        failed = True
        raise
    finally:
        stack.stop()
        if failed and stack.procs:
            print(f"server logs in {logs}:\n{stack.log_tails()}", file=sys.stderr)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not keep_logs and not failed:
            for path in logs.iterdir():
                path.unlink()
            logs.rmdir()


def _wait_ready(stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{stack.base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        stack.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API was not ready within {timeout} s")
        time.sleep(0.1)


# --- GraphQL over HTTP: admin set-up ------------------------------------------------------------


@cache
def operation(name: str) -> str:
    """`area/name` -> the document in graphql/operations/area/name.graphql."""
    return (OPERATIONS / f"{name}.graphql").read_text()


class Api:
    """Runs GraphQL documents against the stack; raises on top-level errors."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(
        self, document: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    async def op(
        self, name: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return await self.run(operation(name), variables, token)


@dataclass(frozen=True)
class Trader:
    user_id: str
    token: str


@dataclass(frozen=True)
class Market:
    symbol: str
    base: str
    quote: str


async def login(api: Api, email: str, password: str) -> Trader:
    data = await api.op("accounts/login", {"input": {"email": email, "password": password}})
    session = data["login"]
    if session["__typename"] != "Session":
        raise RuntimeError(f"login failed: {session}")
    return Trader(session["user"]["id"], session["token"])


async def admin_login(api: Api) -> str:
    return (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).token


async def create_market(api: Api, admin: str, stack: Stack) -> Market:
    """A fresh market BASE-QUOTE (8 and 8 decimals), tick 0.01, step 0.001, fees 0.1 %, a wide
    price band; returns once a matcher leads it."""
    suffix = uuid.uuid4().hex[:6].upper()
    base, quote = f"B{suffix}", f"Q{suffix}"
    for code in (base, quote):
        data = await api.op(
            "admin/create_asset", {"input": {"code": code, "precision": 8}}, token=admin
        )
        if data["adminCreateAsset"]["__typename"] != "Asset":
            raise RuntimeError(f"create asset: {data}")
    values = {
        "symbol": f"{base}-{quote}", "base": base, "quote": quote, "tickSize": "0.01",
        "stepSize": "0.001", "minQuantity": "0.001", "maxQuantity": "1000", "minNotional": "0",
        "makerFee": "0.001", "takerFee": "0.001", "priceBand": "0.9", "marketProtection": "0.5",
    }  # fmt: skip
    data = await api.op("admin/create_market", {"input": values}, token=admin)
    if data["adminCreateMarket"]["__typename"] != "Market":
        raise RuntimeError(f"create market: {data}")
    await wait_for_matcher(stack, values["symbol"])
    return Market(values["symbol"], base, quote)


async def wait_for_matcher(stack: Stack, symbol: str, within: float = 15) -> None:
    """Until a matcher leads the market (the matcher process discovers markets every second)."""
    deadline = time.monotonic() + within
    while True:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT epoch FROM market_state WHERE market = %s", (symbol,)
            ).fetchone()
        if row and row[0]:
            return
        stack.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"no matcher picked up {symbol}")
        await asyncio.sleep(0.1)


async def new_traders(
    api: Api,
    admin: str,
    market: Market,
    count: int,
    base_amount: str = "10000",
    quote_amount: str = "10000000",
    concurrency: int = 8,
) -> list[Trader]:
    """`count` registered, logged-in traders, each funded with both of the market's assets."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Trader:
        async with gate:
            email = f"bench-{uuid.uuid4().hex[:12]}@exchange.bench"
            reg = await api.op(
                "accounts/register", {"input": {"email": email, "password": TRADER_PASSWORD}}
            )
            if reg["register"]["__typename"] != "RegisterSuccess":
                raise RuntimeError(f"register: {reg}")
            trader = await login(api, email, TRADER_PASSWORD)
            for asset, amount in ((market.base, base_amount), (market.quote, quote_amount)):
                data = await api.op(
                    "admin/adjust_balance",
                    {
                        "input": {
                            "userId": trader.user_id,
                            "asset": asset,
                            "amount": amount,
                            "reason": "bench funding",
                            "idempotencyKey": uuid.uuid4().hex,
                        }
                    },
                    token=admin,
                )
                if data["adminAdjustBalance"]["__typename"] != "BalanceAdjustment":
                    raise RuntimeError(f"funding: {data}")
            return trader

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def drain(stack: Stack, market: Market, within: float = 30) -> int:
    """Wait (a second at least) until the market has no PENDING_NEW orders left, e.g. from
    requests a load generator abandoned at the end of a phase; returns how many remain."""
    await asyncio.sleep(1)
    deadline = time.monotonic() + within
    while True:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM orders WHERE market = %s AND status = 'PENDING_NEW'",
                (market.symbol,),
            ).fetchone()
        pending = int(row[0]) if row else 0
        if pending == 0 or time.monotonic() > deadline:
            return pending
        await asyncio.sleep(0.2)
