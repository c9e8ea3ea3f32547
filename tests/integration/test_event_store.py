"""The event log never lets a reader skip an event whose transaction commits late."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.event_store import Checkpoint, NewEvent, append_events, read_events

STREAM_PREFIX = "test-late-commit"


async def _read_all(engine: AsyncEngine, after: Checkpoint, stream: str) -> list[int]:
    async with engine.connect() as conn:
        events = await read_events(conn, after, 10_000)
    return [e.position for e in events if e.stream == stream]


async def _eventually(read: Callable[[], Awaitable[list[int]]], count: int) -> list[int]:
    """Committed events stay hidden while any older transaction in the cluster is still open
    (that is the ordering rule): wait until `count` are visible, as a polling reader would."""
    for _ in range(400):
        seen = await read()
        if len(seen) >= count:
            return seen
        await asyncio.sleep(0.025)
    return seen


async def _position_of_last(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT max(position) FROM events"))).scalar_one())


async def test_late_commit_with_lower_position_is_not_skipped(engine: AsyncEngine) -> None:
    # given: A takes a transaction id and the lower position, B a higher position
    stream = f"{STREAM_PREFIX}-{random.random()}"
    async with engine.connect() as baseline:
        start = await read_events(baseline, Checkpoint(), 1)  # warm the pool
        del start
    a = await engine.connect()
    b = await engine.connect()
    await a.begin()
    await b.begin()
    await append_events(a, [NewEvent(stream, "account.role_granted", {"n": "a"})])
    position_a = await _position_of_last(a)
    await append_events(b, [NewEvent(stream, "account.role_granted", {"n": "b"})])
    # when: B commits first, while A is still open
    await b.commit()
    seen_while_a_open = await _read_all(engine, Checkpoint(), stream)
    await a.commit()
    seen_after = await _eventually(lambda: _read_all(engine, Checkpoint(), stream), 2)
    await a.close()
    await b.close()
    # then: nothing is handed out until A is done, then both, A's first
    assert seen_while_a_open == []
    assert seen_after[0] == position_a
    assert len(seen_after) == 2


async def test_concurrent_writers_in_reverse_commit_order_are_each_read_once(
    engine: AsyncEngine,
) -> None:
    # given: writers that take their positions in one order and commit in the reverse order
    stream = f"{STREAM_PREFIX}-{random.random()}"
    writers = 12
    started = asyncio.Event()
    count = 0

    async def writer(i: int) -> None:
        nonlocal count
        async with engine.begin() as conn:
            await append_events(conn, [NewEvent(stream, "account.role_granted", {"i": i})])
            count += 1
            if count == writers:
                started.set()
            await started.wait()  # all hold their transaction open at the same time...
            await asyncio.sleep(0.02 * (writers - i))  # ...and commit last-in, first-out

    seen: list[int] = []
    checkpoint = Checkpoint()

    async def reader() -> None:
        nonlocal checkpoint
        async with engine.connect() as conn:
            events = await read_events(conn, checkpoint, 10_000)
        if events:
            checkpoint = Checkpoint(events[-1].xact_id, events[-1].position)
        seen.extend(e.position for e in events if e.stream == stream)

    # when: a reader polls the whole time the writers run
    tasks = [asyncio.create_task(writer(i)) for i in range(writers)]
    while not all(t.done() for t in tasks):
        await reader()
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    for _ in range(400):  # committed, but hidden while any older transaction in the cluster runs
        await reader()
        if len(seen) >= writers:
            break
        await asyncio.sleep(0.025)
    # then: every event exactly once, though none waited for another to commit
    async with engine.connect() as conn:
        stored = (
            (
                await conn.execute(
                    text("SELECT position FROM events WHERE stream = :s ORDER BY position"),
                    {"s": stream},
                )
            )
            .scalars()
            .all()
        )
    assert len(stored) == writers
    assert sorted(seen) == list(stored)
    assert len(set(seen)) == len(seen)
