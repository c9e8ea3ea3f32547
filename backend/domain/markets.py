"""Market configuration rules: symbols, increments fitting asset precision, fees and bands."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backend.domain.errors import InvalidInput
from backend.domain.money import EXACT, scale_of


class MarketStatus(StrEnum):
    ENABLED = "ENABLED"
    POST_ONLY = "POST_ONLY"
    LIMIT_ONLY = "LIMIT_ONLY"
    CANCEL_ONLY = "CANCEL_ONLY"
    DISABLED = "DISABLED"


@dataclass(frozen=True)
class MarketConfig:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_quantity: Decimal
    max_quantity: Decimal
    min_notional: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    price_band: Decimal
    market_protection: Decimal
    status: MarketStatus = MarketStatus.ENABLED

    def as_row(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def as_json(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> MarketConfig:
        """Inverse of as_json (as stored in admin.market_* events)."""
        text_fields = {"symbol", "base", "quote", "status"}
        values: dict[str, Any] = {
            k: (v if k in text_fields else Decimal(v)) for k, v in data.items()
        }
        values["status"] = MarketStatus(values["status"])
        return cls(**values)


def market_symbol(base: str, quote: str) -> str:
    return f"{base}-{quote}"


def validate_market(config: MarketConfig, base_precision: int, quote_precision: int) -> None:
    """Raise InvalidInput naming the first field that breaks a rule."""
    if config.symbol != market_symbol(config.base, config.quote):
        raise InvalidInput(
            "symbol", f"symbol must be BASE-QUOTE, here {market_symbol(config.base, config.quote)}"
        )
    _fits("tickSize", config.tick_size, quote_precision, "the quote asset")
    _fits("stepSize", config.step_size, base_precision, "the base asset")
    # A fill's notional is price x quantity, i.e. a multiple of tick x step: it must be
    # representable in the quote asset or settlements would need rounding.
    if scale_of(EXACT.multiply(config.tick_size, config.step_size)) > quote_precision:
        raise InvalidInput(
            "tickSize",
            f"tickSize x stepSize = {(config.tick_size * config.step_size).normalize():f} needs"
            f" more than the quote asset's {quote_precision} decimals",
        )
    _multiple("minQuantity", config.min_quantity, config.step_size)
    _multiple("maxQuantity", config.max_quantity, config.step_size)
    if config.min_quantity <= 0:
        raise InvalidInput("minQuantity", "minQuantity must be greater than zero")
    if config.max_quantity < config.min_quantity:
        raise InvalidInput("maxQuantity", "maxQuantity must be at least minQuantity")
    if config.min_notional < 0:
        raise InvalidInput("minNotional", "minNotional must not be negative")
    for name, value in (("makerFee", config.maker_fee), ("takerFee", config.taker_fee)):
        if not Decimal(0) <= value < Decimal("0.1"):
            raise InvalidInput(name, f'{name} must be a fraction in [0, 0.1) ("0.001" is 0.1%)')
    if not Decimal(0) < config.price_band <= Decimal(1):
        raise InvalidInput("priceBand", "priceBand must be a fraction in (0, 1]")
    if not Decimal(0) < config.market_protection < Decimal(1):
        raise InvalidInput("marketProtection", "marketProtection must be a fraction in (0, 1)")


def _fits(field: str, value: Decimal, precision: int, what: str) -> None:
    if value <= 0:
        raise InvalidInput(field, f"{field} must be greater than zero")
    if scale_of(value) > precision:
        raise InvalidInput(
            field, f"{field} has more decimals than {what}'s precision ({precision})"
        )


def _multiple(field: str, value: Decimal, step: Decimal) -> None:
    if EXACT.remainder(value, step) != 0:
        raise InvalidInput(field, f"{field} must be a multiple of stepSize")
