"""The worker runs only the projections whose event types appeared after their checkpoints."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.admin.create_asset import CreateAsset
from commands.bus import CommandBus
from workers.news import projections_with_news


@dataclass
class _Probe:
    """A projection that reads one event type and applies nothing."""

    name: str
    event_types: tuple[str, ...] = ()
    tables: tuple[Any, ...] = ()


async def _checkpoint_at_end(engine: AsyncEngine, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO projection_checkpoints (name, xact_id, position)"
                " SELECT :name, xact_id, position FROM events"
                " ORDER BY xact_id DESC, position DESC LIMIT 1"
            ),
            {"name": name},
        )


async def test_news_names_only_projections_whose_events_appeared(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given: two probes caught up to the end of the log, one reading asset creations
    suffix = uuid.uuid4().hex[:8]
    assets = _Probe(f"probe_assets_{suffix}", ("admin.asset_created",))
    amends = _Probe(f"probe_amends_{suffix}", ("spot.amend_requested",))
    for probe in (assets, amends):
        await _checkpoint_at_end(engine, probe.name)
    try:
        assert await projections_with_news(engine, [assets, amends]) == []  # type: ignore[list-item]
        # when
        await bus.execute(CreateAsset("N" + suffix.upper(), 8))
        # then: once visible (older transactions anywhere in the cluster hide it meanwhile)
        for _ in range(400):
            news = await projections_with_news(engine, [assets, amends])  # type: ignore[list-item]
            if news:
                break
            await asyncio.sleep(0.025)
        assert news == [assets]
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM projection_checkpoints WHERE name = ANY(:names)"),
                {"names": [assets.name, amends.name]},
            )
