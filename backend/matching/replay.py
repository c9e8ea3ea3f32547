"""Re-runs a market's stored inputs through a fresh engine, batch by batch, with the stored batch
timestamps, and reports where the result differs from what the matcher recorded. Used by tests
and by operators auditing a market (`exchange replay --market X`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.snapshot import EngineSnapshot
from backend.events import upcast
from backend.matching.inputs import MatcherInput
from backend.matching.registry import OrderRegistry
from backend.matching.settlement import MarketInfo, Settlement
from backend.matching.step import apply_input, micros
from backend.settings import Settings


@dataclass
class ReplayReport:
    batches: int = 0
    trades: int = 0
    mismatches: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def identical(self) -> bool:
        return not self.mismatches


_BATCHES = text(
    "SELECT data FROM events WHERE stream = :s AND event_type = 'spot.batch_matched'"
    " ORDER BY xact_id, position"
)
_INPUTS = text(
    "SELECT xact_id::text::bigint AS xact_id, position, event_type, schema_version, data,"
    " recorded_at FROM events WHERE position = ANY(CAST(:p AS bigint[]))"
)


async def replay_market(
    conn: AsyncConnection, market: MarketInfo, settings: Settings
) -> ReplayReport:
    engine = SpotEngine.restore(market.spec, EngineSnapshot(None, 0, (), ()))
    registry = OrderRegistry()
    report = ReplayReport()
    sequence = 0
    for (batch,) in await conn.execute(_BATCHES, {"s": f"market:{market.symbol}"}):
        at = datetime.fromisoformat(batch["at"])
        rows = {r.position: r for r in await conn.execute(_INPUTS, {"p": batch["inputs"]})}
        settlement = Settlement(market, registry, sequence, at)
        for position in batch["inputs"]:
            r = rows[position]
            item = MatcherInput(
                r.xact_id,
                r.position,
                r.event_type,
                upcast(r.event_type, r.schema_version, r.data),
                r.recorded_at,
            )
            apply_input(engine, registry, item, micros(at), settings.taker_order_max_age_ms * 1000)
        settlement.apply(engine.events)
        engine.events.clear()
        effects = settlement.finish(engine)
        registry.forget_finished(effects.changed)
        sequence = effects.sequence
        report.batches += 1
        report.trades += len(effects.fills)
        _compare(report, batch, "trades", [_strip(t) for t in batch["trades"]], effects.fills)
        _compare(report, batch, "book", batch["book"], effects.book)
        if sequence != batch["sequence"]:
            report.mismatches.append(f"batch {batch['batch']}: sequence {sequence}")
    report.digest = engine.state_digest()
    return report


def _strip(trade: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in trade.items() if k not in ("id", "at")}


def _compare(
    report: ReplayReport, batch: dict[str, Any], what: str, stored: list[Any], replayed: list[Any]
) -> None:
    if stored != replayed:
        report.mismatches.append(f"batch {batch['batch']}: {what} differ")
