"""Fresh databases, markets and funded traders for persisted benchmarks (no HTTP involved)."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from decimal import Decimal

import psycopg

from backend.db.engine import libpq_url
from backend.db.migrations import upgrade
from backend.domain.markets import MarketConfig
from backend.settings import Settings
from commands.accounts.register_user import RegisterUser
from commands.admin.adjust_balance import AdjustBalance
from commands.admin.create_asset import CreateAsset
from commands.admin.create_market import CreateMarket
from commands.bus import CommandBus


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(
            "set DATABASE_URL to a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1/postgres)"
        )
    return libpq_url(url)


def fresh_database(prefix: str) -> str:
    """Create and migrate `<prefix>_<random>` on DATABASE_URL's server; returns its URL."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def durability(url: str) -> dict[str, str]:
    """The server's durability settings (benchmarks run with them on)."""
    with psycopg.connect(url) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }


def bench_settings(url: str) -> Settings:
    return replace(
        Settings.from_env(),
        database_url=url,
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        max_pending_orders_per_market=10**9,
        max_open_orders_per_market=10**9,
    )


async def market_with_traders(
    bus: CommandBus, traders: int, base_amount: str, quote_amount: str
) -> tuple[MarketConfig, list[uuid.UUID]]:
    """BENCH base (8 dp) / quote (8 dp), tick 0.01, step 0.001, fees 0.1%; funded traders."""
    suffix = uuid.uuid4().hex[:5].upper()
    base, quote = f"BB{suffix}", f"BQ{suffix}"
    await bus.execute(CreateAsset(base, 8))
    await bus.execute(CreateAsset(quote, 8))
    config = MarketConfig(
        f"{base}-{quote}",
        base,
        quote,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        max_quantity=Decimal("1000000"),
        min_notional=Decimal(0),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        price_band=Decimal(1),
        market_protection=Decimal("0.5"),
    )
    await bus.execute(CreateMarket(config))
    admin = await bus.execute(RegisterUser(f"bench-admin-{suffix}@example.com", "bench-password"))
    users = []
    for i in range(traders):
        user = await bus.execute(RegisterUser(f"bench-{suffix}-{i}@example.com", "bench-password"))
        for asset, amount in ((base, base_amount), (quote, quote_amount)):
            await bus.execute(
                AdjustBalance(admin, str(user), asset, Decimal(amount), "bench", uuid.uuid4().hex)
            )
        users.append(user)
    return config, users
