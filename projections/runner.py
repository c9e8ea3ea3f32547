"""Runs projections: read events after the checkpoint, apply them, advance the checkpoint, commit.

The read-model change and the checkpoint move in one transaction, so a crash at any point either
keeps both or neither: every event takes effect exactly once. The checkpoint row is locked
FOR UPDATE, so two runners of the same projection take turns instead of applying twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.event_store import Checkpoint, read_events, read_window_end
from projections.base import Outbox, Projection, Window, WindowProjection

Publish = Callable[[list[tuple[str, bytes]]], Awaitable[None]]


# Locking the checkpoint also makes the transaction read the log by walking its index: each read
# continues where the last window ended, so a replay reads the log once. Without statistics
# (autovacuum off, or a log that just grew) the planner expects a handful of rows and would scan
# and sort the whole rest of the log for every window instead (at a million events, 1.4 s
# instead of 0.08 s for a window of 50,000).
_SELECT_CHECKPOINT = text(
    "SELECT xact_id::text::bigint AS xact_id, position,"
    " set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
    " FROM projection_checkpoints WHERE name = :name FOR UPDATE"
)


async def _lock_checkpoint(conn: AsyncConnection, name: str) -> Checkpoint:
    row = (await conn.execute(_SELECT_CHECKPOINT, {"name": name})).first()
    if row is None:  # the projection's first run (or first after a rebuild of the table)
        await conn.execute(
            text("INSERT INTO projection_checkpoints (name) VALUES (:name) ON CONFLICT DO NOTHING"),
            {"name": name},
        )
        row = (await conn.execute(_SELECT_CHECKPOINT, {"name": name})).one()
    return Checkpoint(row.xact_id, row.position)


async def catch_up_once(
    engine: AsyncEngine, projection: Projection, batch_size: int, publish: Publish | None = None
) -> tuple[Checkpoint, int]:
    """Apply at most one window of `batch_size` events. Returns the new checkpoint and how many
    events were applied."""
    outbox = Outbox(live=publish is not None)
    types = list(projection.event_types)
    async with engine.begin() as conn:
        checkpoint = await _lock_checkpoint(conn, projection.name)
        if isinstance(projection, WindowProjection):
            until, applied = await read_window_end(conn, checkpoint, batch_size, types)
            if applied:
                await projection.apply_window(conn, Window(checkpoint, until), outbox)
        else:
            events = await read_events(conn, checkpoint, batch_size, types)
            applied = len(events)
            if events:
                await projection.apply_events(conn, events, outbox)
                until = Checkpoint(events[-1].xact_id, events[-1].position)
            else:
                until = checkpoint
        if applied:
            checkpoint = until
            await conn.execute(
                text(
                    "UPDATE projection_checkpoints SET xact_id = CAST(:x AS text)::xid8,"
                    " position = :p, updated_at = now() WHERE name = :name"
                ),
                {"x": str(checkpoint.xact_id), "p": checkpoint.position, "name": projection.name},
            )
    if publish is not None and outbox.messages:
        await publish(outbox.messages)
    return checkpoint, applied


async def catch_up(
    engine: AsyncEngine,
    projection: Projection,
    batch_size: int = 500,
    publish: Publish | None = None,
) -> Checkpoint:
    """Apply every event visible now; returns the final checkpoint."""
    while True:
        checkpoint, applied = await catch_up_once(engine, projection, batch_size, publish)
        if applied < batch_size:
            return checkpoint


# A rebuild sizes its windows by time: each transaction should take about this long, so that
# per-transaction costs vanish while no transaction runs long (an open writer holds back every
# log reader in the cluster, the matcher too, and statements have a timeout). The first window
# is small, as events differ a lot in weight (a settlement transfer has hundreds of postings).
REBUILD_WINDOW_SECONDS = 1.0
FIRST_REBUILD_WINDOW = 1_000
MAX_REBUILD_WINDOW = 200_000


def next_window(window: int, seconds: float) -> int:  # float-ok: a duration, not money
    """The window that should take about REBUILD_WINDOW_SECONDS, after `window` events took
    `seconds`: at most twice or a quarter of it, within [1, MAX_REBUILD_WINDOW]."""
    scale = REBUILD_WINDOW_SECONDS / max(seconds, 1e-3)
    return max(1, min(MAX_REBUILD_WINDOW, int(window * min(2.0, max(0.25, scale)))))


async def rebuild(
    engine: AsyncEngine, projection: Projection, batch_size: int | None = None
) -> Checkpoint:
    """Drop the read model's rows and replay it from the first event, in windows of
    `batch_size` events, or by default of about REBUILD_WINDOW_SECONDS each."""
    async with engine.begin() as conn:
        await _lock_checkpoint(conn, projection.name)
        for table in projection.tables:
            await conn.execute(text(f"TRUNCATE {table.name}"))
        await conn.execute(
            text(
                "UPDATE projection_checkpoints SET xact_id = '0'::xid8, position = 0"
                " WHERE name = :name"
            ),
            {"name": projection.name},
        )
    if batch_size is not None:
        return await catch_up(engine, projection, batch_size)
    window = FIRST_REBUILD_WINDOW
    while True:
        started = time.perf_counter()
        checkpoint, applied = await catch_up_once(engine, projection, window)
        if applied < window:
            return checkpoint
        window = next_window(window, time.perf_counter() - started)
