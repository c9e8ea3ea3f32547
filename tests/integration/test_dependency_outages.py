"""PostgreSQL, then Redis, cut away from running services (through a TCP proxy that resets every
connection and refuses new ones) and brought back: while a dependency is down the API answers
with typed errors (SERVICE_UNAVAILABLE, with HTTP 503 and Retry-After when it cannot even
authenticate; never a masked internal error) and /readyz says 503;
once it is back everything resumes by itself, in the same processes, without repair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from tests.graphql_client import operation
from tests.integration.crash_stack import (
    COMPONENTS,
    Stack,
    Trader,
    read_models_converged,
    setup_market,
    until,
)
from tests.integration.outage_proxy import OutageProxy
from tests.servers import free_port

OUTAGE_CODES = {"SERVICE_UNAVAILABLE"}


def _through(url: str, proxy: OutageProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 0


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def proxies(isolated_settings: Settings) -> AsyncIterator[tuple[OutageProxy, OutageProxy]]:
    postgres = OutageProxy(*_address(isolated_settings.database_url))
    redis = OutageProxy(*_address(isolated_settings.redis_url))
    await postgres.up()
    await redis.up()
    yield postgres, redis
    await postgres.down()
    await redis.down()


@pytest.fixture
async def stack(
    isolated_settings: Settings, tmp_path: Path, proxies: tuple[OutageProxy, OutageProxy]
) -> AsyncIterator[Stack]:
    postgres, redis = proxies
    settings = replace(
        isolated_settings,
        database_url=_through(isolated_settings.database_url, postgres),
        redis_url=_through(isolated_settings.redis_url, redis),
    )
    stack = Stack(settings, free_port(), tmp_path, EXCHANGE_PLACE_ORDER_WAIT="3")
    for name in COMPONENTS:
        stack.start(name)
    yield stack
    stack.stop()


async def _place(http: httpx.AsyncClient, trader: Trader, symbol: str, side: str,
                 client_order_id: str, price: str = "100.00") -> dict[str, Any]:
    """The whole GraphQL response of a limit order of 0.1 (at 100, where the tests trade)."""
    order = {"market": symbol, "side": side, "type": "LIMIT", "price": price,
             "quantity": "0.100", "clientOrderId": client_order_id}
    response = await http.post(
        "/graphql",
        json={"query": operation("spot/place_order"), "variables": {"input": order}},
        headers={"authorization": f"Bearer {trader.token}"},
    )
    body: dict[str, Any] = response.json()
    # 503 only from the request guard, when it cannot reach the session store: still typed
    assert response.status_code == 200 or (
        response.status_code == 503 and _outcome(body) in OUTAGE_CODES
    ), response.text
    return body


def _outcome(body: dict[str, Any]) -> str:
    """`ORDER`, a typed outage code, or what went wrong."""
    errors = body.get("errors") or []
    if errors:
        codes = {(e.get("extensions") or {}).get("code") for e in errors}
        return codes.pop() if len(codes) == 1 else f"mixed {codes}"
    result = body["data"]["placeOrder"]
    return "ORDER" if result["__typename"] == "Order" else result["code"]


async def _trade_once(http: httpx.AsyncClient, traders: list[Trader], symbol: str,
                      tag: str) -> None:
    """A sell then a buy at 100 that match (retrying each clientOrderId until answered)."""
    for trader, side in ((traders[0], "SELL"), (traders[1], "BUY")):
        for _ in range(100):
            if _outcome(await _place(http, trader, symbol, side, f"{tag}-{side}")) == "ORDER":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"{tag}: {side} never accepted")


async def _filled(db: AsyncEngine, symbol: str, tag: str) -> bool:
    async with db.connect() as conn:
        statuses = (await conn.execute(text(
            "SELECT status FROM orders WHERE market = :m AND client_order_id LIKE :t"),
            {"m": symbol, "t": f"{tag}-%"})).scalars().all()
    return sorted(statuses) == ["FILLED", "FILLED"]


async def _ready_status(http: httpx.AsyncClient) -> int:
    return (await http.get("/readyz")).status_code


async def test_postgres_then_redis_down_and_back(
    stack: Stack, db: AsyncEngine, proxies: tuple[OutageProxy, OutageProxy]
) -> None:
    postgres, redis = proxies
    await stack.ready()
    symbol, traders = await setup_market(stack, db)
    pids = {name: proc.pid for name, proc in stack.procs.items()}
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as http:
        await _trade_once(http, traders, symbol, "before")
        await until(lambda: _filled(db, symbol, "before"), 30)

        # when: PostgreSQL goes away
        await postgres.down()
        outcomes = {_outcome(await _place(http, traders[0], symbol, "SELL", f"pg-down-{i}",
                                         "150.00"))
                    for i in range(5)}
        me = (await http.post("/graphql", json={"query": "{ me { id } }"},
                              headers={"authorization": f"Bearer {traders[0].token}"})).json()
        # then: typed outage errors, and not ready
        assert outcomes == OUTAGE_CODES, outcomes
        assert {e["extensions"]["code"] for e in me["errors"]} == OUTAGE_CODES, me
        assert await _ready_status(http) == 503
        assert (await http.get("/healthz")).status_code == 200

        # when: it comes back, then everything resumes by itself
        await postgres.up()
        await until(lambda: _is(_ready_status(http), 200), 30)
        await _trade_once(http, traders, symbol, "after-pg")
        await until(lambda: _filled(db, symbol, "after-pg"), 30)

        # when: Redis goes away
        await redis.down()
        during = [_outcome(await _place(http, traders[0], symbol, "SELL", f"redis-down-{i}",
                                     "150.00"))
                  for i in range(3)]
        # then: orders are still taken or refused as an outage, never an internal error
        assert set(during) <= {"ORDER"} | OUTAGE_CODES, during
        print(f"\nwhile Redis was down, placeOrder answered {during}")
        assert await _ready_status(http) == 503

        # when: it comes back, then the read models catch up and trading goes on
        await redis.up()
        await until(lambda: _is(_ready_status(http), 200), 30)
        await _trade_once(http, traders, symbol, "after-redis")
        await until(lambda: _filled(db, symbol, "after-redis"), 30)
        await until(lambda: read_models_converged(db, symbol), 60)
    # and no component was restarted: they recovered in place
    assert {name: proc.pid for name, proc in stack.procs.items()} == pids
    assert all(proc.poll() is None for proc in stack.procs.values())


async def _is(value: Any, expected: object) -> bool:
    return bool(await value == expected)
