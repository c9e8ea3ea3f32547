"""Demo reference data for the embedded default: BTC, ETH, USDT and two markets."""

from __future__ import annotations

from decimal import Decimal

from backend.domain.errors import AlreadyExists
from backend.domain.markets import MarketConfig
from commands.admin.create_asset import CreateAsset
from commands.admin.create_market import CreateMarket
from commands.bus import CommandBus

ASSETS = (("BTC", 8), ("ETH", 8), ("USDT", 8))


def _market(
    base: str, quote: str, tick: str, step: str, min_qty: str, max_qty: str
) -> MarketConfig:
    return MarketConfig(
        symbol=f"{base}-{quote}",
        base=base,
        quote=quote,
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_quantity=Decimal(min_qty),
        max_quantity=Decimal(max_qty),
        min_notional=Decimal("5"),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        price_band=Decimal("0.2"),
        market_protection=Decimal("0.05"),
    )


MARKETS = (
    _market("BTC", "USDT", "0.01", "0.00001", "0.00001", "9000"),
    _market("ETH", "USDT", "0.01", "0.0001", "0.0001", "90000"),
)


async def seed_demo(bus: CommandBus) -> None:
    """Idempotent: creating an existing asset or market with the same settings is a no-op."""
    for command in [CreateAsset(code, precision) for code, precision in ASSETS] + [
        CreateMarket(config) for config in MARKETS
    ]:
        try:
            await bus.execute(command)
        except AlreadyExists:
            pass  # an admin has changed it since: theirs wins
