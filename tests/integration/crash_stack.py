"""The three server components as subprocesses that a test can kill -9 and start again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.graphql_client import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api", "worker", "matcher")
TRADERS = 4
FUNDING = {"base": Decimal("1000"), "quote": Decimal("100000")}


class Stack:
    """`exchange api|worker|matcher` on one database; each in its own process group, so a kill
    takes the whole component down at once, as a machine losing it would."""

    def __init__(self, settings: Settings, port: int, logs: Path, **env: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.logs = logs
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "EXCHANGE_PORT": str(port),
            "EXCHANGE_QUEUE_NAMESPACE": settings.queue_namespace,
            "EXCHANGE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "EXCHANGE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "EXCHANGE_SEED_DEMO": "false",
            "EXCHANGE_LOG_LEVEL": "WARNING",
            "EXCHANGE_DB_POOL_SIZE": "4",
            "EXCHANGE_DB_MAX_OVERFLOW": "2",
            **env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._outs: list[IO[str]] = []
        self.starts = dict.fromkeys(COMPONENTS, 0)

    def start(self, name: str) -> None:
        self.starts[name] += 1
        out = (self.logs / f"{name}.log").open("a")
        out.write(f"--- start {self.starts[name]}\n")
        out.flush()
        self._outs.append(out)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", name],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    async def ready(self, timeout: float = 60) -> None:
        """Until the API answers /readyz (the worker and matcher need no answer to be up)."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as http:
            while True:
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} exited: {self.tail(name)}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"the API did not become ready: {self.tail('api')}")
                await asyncio.sleep(0.05)

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-3000:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for out in self._outs:
            out.close()


@dataclass(frozen=True)
class Trader:
    user_id: str
    token: str


async def setup_market(stack: Stack, db: AsyncEngine) -> tuple[str, list[Trader]]:
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as http:
        client = GraphQLClient(http)
        login = await client.run("accounts/login", {"input": {"email": ADMIN_EMAIL,
                                                              "password": ADMIN_PASSWORD}})
        admin = login["login"]["token"]
        codes = []
        for precision in (8, 6):
            code = "C" + uuid.uuid4().hex[:8].upper()
            await client.run("admin/create_asset", {"input": {"code": code,
                                                              "precision": precision}},
                             token=admin)
            codes.append(code)
        symbol = f"{codes[0]}-{codes[1]}"
        market = {"symbol": symbol, "base": codes[0], "quote": codes[1], "tickSize": "0.01",
                  "stepSize": "0.001", "minQuantity": "0.001", "maxQuantity": "1000",
                  "minNotional": "1", "makerFee": "0.001", "takerFee": "0.002",
                  "priceBand": "0.5", "marketProtection": "0.1"}
        created = await client.run("admin/create_market", {"input": market}, token=admin)
        assert created["adminCreateMarket"]["__typename"] == "Market", created
        traders = []
        for _ in range(TRADERS):
            email = f"{uuid.uuid4().hex[:12]}@example.com"
            credentials = {"email": email, "password": "correct-horse-9"}
            registered = await client.run("accounts/register", {"input": credentials})
            user_id = registered["register"]["user"]["id"]
            session = await client.run("accounts/login", {"input": credentials})
            for asset, amount in zip(codes, FUNDING.values(), strict=True):
                adjusted = await client.run("admin/adjust_balance", {"input": {
                    "userId": user_id, "asset": asset, "amount": str(amount),
                    "reason": "crash test", "idempotencyKey": uuid.uuid4().hex}}, token=admin)
                assert adjusted["adminAdjustBalance"]["__typename"] == "BalanceAdjustment"
            traders.append(Trader(user_id, session["login"]["token"]))
    await until(lambda: _matcher_leads(db, symbol), 20)
    return symbol, traders


async def _matcher_leads(db: AsyncEngine, symbol: str) -> bool:
    async with db.connect() as conn:
        epoch = (await conn.execute(text("SELECT epoch FROM market_state WHERE market = :m"),
                                    {"m": symbol})).scalar()
    return bool(epoch)


async def until(predicate: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.1)


async def read_models_converged(db: AsyncEngine, symbol: str) -> bool:
    async with db.connect() as conn:
        balances = (await conn.execute(text(
            "SELECT user_id, asset, kind, balance FROM ledger_accounts"
            " WHERE user_id IS NOT NULL AND kind IN ('available', 'locked')"))).all()
        view = (await conn.execute(text(
            "SELECT user_id, asset, available, locked FROM balances_view"))).all()
        book = (await conn.execute(text(
            "SELECT side, price, sum(quantity - filled_quantity) FROM orders WHERE market = :m"
            " AND status IN ('NEW', 'PARTIALLY_FILLED') AND type = 'LIMIT'"
            " GROUP BY side, price"), {"m": symbol})).all()
        book_view = (await conn.execute(text(
            "SELECT side, price, quantity FROM order_book_view WHERE market = :m"),
            {"m": symbol})).all()
    ledger: dict[tuple[Any, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for user_id, asset, kind, balance in balances:
        ledger[(user_id, asset)][kind == "locked"] = balance
    projected = {(u, a): [av, lo] for u, a, av, lo in view}
    wanted_book = {(s, p): q for s, p, q in book}
    return bool(projected == dict(ledger) and wanted_book == {(s, p): q for s, p, q in book_view})
