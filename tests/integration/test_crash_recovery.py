"""kill -9 at random moments: 20 times each for the matcher, the API and the projection worker,
during a stream of crossing orders from several traders. The client journals every answer; after
recovery every acknowledged order exists exactly once with at least the fills it was answered
with, every refused one does not exist, the ledger reconciles, money is conserved, and the read
models converge to the write store."""

from __future__ import annotations

import asyncio
import random
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from queries.ledger import reconcile
from tests.graphql_client import operation
from tests.integration.crash_stack import (
    COMPONENTS,
    FUNDING,
    Stack,
    Trader,
    read_models_converged,
    setup_market,
    until,
)
from tests.servers import free_port

KILLS_PER_COMPONENT = 20
ANSWER_TIMEOUT_SECONDS = 20
TEST_BUDGET_SECONDS = 420
"""A hang fails the test with every task's stack printed, instead of stalling the suite."""


@dataclass
class Journal:
    """What the client was told, by (user id, clientOrderId)."""

    acked: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    refused: dict[tuple[str, str], str] = field(default_factory=dict)
    unknown: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Sent, but the answer was lost (the API died, or said SERVICE_UNAVAILABLE): retried at
    the end with the same clientOrderId, which must then give the one true answer."""
    lost_answers: int = 0


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def stack(isolated_settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(isolated_settings, free_port(), tmp_path)
    for name in COMPONENTS:
        stack.start(name)
    yield stack
    stack.stop()


async def _place(http: httpx.AsyncClient, trader: Trader, order: dict[str, Any],
                 journal: Journal) -> bool:
    """Sends one order and journals the answer; False when the answer was lost."""
    key = (trader.user_id, order["clientOrderId"])
    try:
        # Bounded as a whole: a connection cut at the wrong moment must not hang the stream.
        response = await asyncio.wait_for(
            http.post(
                "/graphql",
                json={"query": operation("spot/place_order"), "variables": {"input": order}},
                headers={"authorization": f"Bearer {trader.token}"},
            ),
            ANSWER_TIMEOUT_SECONDS,
        )
        body = response.json()
    except (httpx.HTTPError, ValueError, TimeoutError):
        body = None
    payload = (body or {}).get("data") or {}
    result = payload.get("placeOrder")
    if result is None:  # connection lost, API restarting, or a typed outage error
        journal.unknown[key] = order
        journal.lost_answers += 1
        return False
    journal.unknown.pop(key, None)
    if result["__typename"] == "Order":
        journal.acked[key] = result
    else:
        journal.refused[key] = result["code"]
    return True


async def _stream(http: httpx.AsyncClient, trader: Trader, symbol: str, index: int,
                  journal: Journal, stop: asyncio.Event) -> None:
    rnd = random.Random(index)
    for n in range(1_000_000):
        if stop.is_set():
            return
        buy = rnd.random() < 0.5
        offset = Decimal(rnd.randint(1, 30)) / 10
        crosses = rnd.random() < 0.5
        price = Decimal(100) + (offset if buy == crosses else -offset)
        order = {"market": symbol, "side": "BUY" if buy else "SELL", "type": "LIMIT",
                 "price": str(price), "quantity": str(Decimal(rnd.randint(1, 500)) / 1000),
                 "clientOrderId": f"t{index}-{n}"}
        if not await _place(http, trader, order, journal):
            await asyncio.sleep(0.2)  # the API is away: back off a little, then go on


async def _kill_at_random(stack: Stack, stop: asyncio.Event) -> dict[str, int]:
    rnd = random.Random(20261125)
    schedule = [name for name in COMPONENTS for _ in range(KILLS_PER_COMPONENT)]
    rnd.shuffle(schedule)
    kills: dict[str, int] = defaultdict(int)
    try:
        for name in schedule:
            await asyncio.sleep(rnd.uniform(0.1, 0.6))
            stack.kill9(name)
            kills[name] += 1
            stack.start(name)
            if name == "api":
                await stack.ready()
    finally:
        stop.set()
    return dict(kills)


async def test_kill_9_of_every_component_loses_nothing(stack: Stack, db: AsyncEngine) -> None:
    try:
        async with asyncio.timeout(TEST_BUDGET_SECONDS):
            await _kill_and_check(stack, db)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        raise


async def _kill_and_check(stack: Stack, db: AsyncEngine) -> None:
    # given: the stack up, a market and funded traders
    await stack.ready()
    symbol, traders = await setup_market(stack, db)
    journal = Journal()
    stop = asyncio.Event()
    # when: the traders stream orders while components are killed -9 and restarted
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as http:
        streams = [asyncio.create_task(_stream(http, t, symbol, i, journal, stop))
                   for i, t in enumerate(traders)]
        kills = await _kill_at_random(stack, stop)
        await asyncio.gather(*streams)
        # recovery: every order whose answer was lost is asked again, by its clientOrderId
        await stack.ready()
        by_user = {t.user_id: t for t in traders}
        for _ in range(50):
            if not journal.unknown:
                break
            for (user_id, _cid), order in list(journal.unknown.items()):
                await _place(http, by_user[user_id], order, journal)
        assert not journal.unknown, f"{len(journal.unknown)} answers never came"
    # then
    assert kills == dict.fromkeys(COMPONENTS, KILLS_PER_COMPONENT)
    assert len(journal.acked) > 100, "the stream barely ran"
    await until(lambda: _matcher_idle(db, symbol), 60)
    await _check_orders(db, journal)
    await _check_ledger(db, traders, symbol)
    await until(lambda: read_models_converged(db, symbol), 60)
    print(f"\ncrash test: kills {kills}, acked {len(journal.acked)}, refused"
          f" {len(journal.refused)}, lost answers {journal.lost_answers}")


async def _matcher_idle(db: AsyncEngine, symbol: str) -> bool:
    async with db.connect() as conn:
        pending = (await conn.execute(text(
            "SELECT count(*) FROM orders WHERE market = :m AND status = 'PENDING_NEW'"),
            {"m": symbol})).scalar()
    return pending == 0


async def _check_orders(db: AsyncEngine, journal: Journal) -> None:
    async with db.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT o.user_id::text AS user_id, o.client_order_id, o.id, o.filled_quantity,"
            " o.status, coalesce(sum(f.quantity), 0) AS fill_total"
            " FROM orders o LEFT JOIN fills f ON f.maker_order_id = o.id OR f.taker_order_id = o.id"
            " GROUP BY o.id"))).all()
    stored = {(r.user_id, r.client_order_id): r for r in rows}
    assert len(stored) == len(rows), "a clientOrderId names two orders"
    for key, answer in journal.acked.items():
        row = stored.get(key)
        assert row is not None, f"acknowledged order {key} is missing"
        assert str(row.id) == answer["id"], f"{key} answered as {answer['id']}, stored as {row.id}"
        assert row.filled_quantity >= Decimal(answer["filledQuantity"]), (key, answer)
        assert row.filled_quantity == row.fill_total, f"{key}: fills do not add up"
    for key, code in journal.refused.items():
        assert key not in stored, f"order {key} was refused ({code}) but exists"
    assert set(stored) == set(journal.acked), "orders exist that nobody was told about"
    assert sum(r.fill_total for r in rows) > 0, "nothing traded: the stream did not cross"


async def _check_ledger(db: AsyncEngine, traders: list[Trader], symbol: str) -> None:
    base, quote = symbol.split("-")
    async with db.connect() as conn:
        report = await reconcile(conn)
        totals = dict((await conn.execute(text(
            "SELECT asset, sum(balance) FROM ledger_accounts WHERE asset IN (:b, :q)"
            " AND kind <> 'external' GROUP BY asset"), {"b": base, "q": quote})).all())
    assert all(r.balanced for r in report), [r for r in report if not r.balanced]
    assert totals == {base: FUNDING["base"] * len(traders),
                      quote: FUNDING["quote"] * len(traders)}
