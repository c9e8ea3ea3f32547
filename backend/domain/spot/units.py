"""Market spec and exact Decimal <-> integer conversions (ticks, lots, minor units)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING

from backend.domain.errors import InvalidInput

if TYPE_CHECKING:
    from backend.domain.markets import MarketConfig

# Wide enough that no product of market quantities ever rounds inside a conversion.
_EXACT_DIGITS = 80


@dataclass(frozen=True)
class MarketSpec:
    """One market's increments, limits and rates; the derived integers are what the engine uses.

    `price_band` and `market_protection` are fractions (Decimal("0.05") = 5 %); None disables them.
    Fees are fractions of the amount received (Decimal("0.001") = 0.1 %).
    """

    tick_size: Decimal
    step_size: Decimal
    base_precision: int
    quote_precision: int
    min_quantity: Decimal
    max_quantity: Decimal
    min_notional: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    price_band: Decimal | None = None
    market_protection: Decimal | None = None
    lot_units: int = field(init=False)
    """Base minor units in one lot (step_size)."""
    tick_lot_units: int = field(init=False)
    """Quote minor units of one tick x one lot: notional units = ticks * lots * tick_lot_units."""
    maker_rate: Fraction = field(init=False)
    taker_rate: Fraction = field(init=False)
    protection_rate: Fraction | None = field(init=False)

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.step_size <= 0:
            raise InvalidInput("tickSize", "tick and step sizes must be greater than zero")
        lot = _exact_int(self.step_size.scaleb(self.base_precision))
        if lot is None:
            raise InvalidInput("stepSize", "stepSize has more decimals than the base precision")
        with localcontext() as ctx:
            ctx.prec = _EXACT_DIGITS
            tick_lot = _exact_int((self.tick_size * self.step_size).scaleb(self.quote_precision))
        if tick_lot is None:
            # A fill's notional is a multiple of tick x step; it must be whole quote units.
            raise InvalidInput(
                "tickSize", "tickSize x stepSize needs more than the quote precision"
            )
        for name, rate in (("makerFee", self.maker_fee), ("takerFee", self.taker_fee)):
            if not Decimal(0) <= rate < Decimal(1):
                raise InvalidInput(name, f"{name} must be a fraction in [0, 1)")
        protection = self.market_protection
        if protection is not None and not Decimal(0) < protection < Decimal(1):
            raise InvalidInput("marketProtection", "marketProtection must be in (0, 1)")
        object.__setattr__(self, "lot_units", lot)
        object.__setattr__(self, "tick_lot_units", tick_lot)
        object.__setattr__(self, "maker_rate", Fraction(self.maker_fee))
        object.__setattr__(self, "taker_rate", Fraction(self.taker_fee))
        object.__setattr__(
            self, "protection_rate", None if protection is None else Fraction(protection)
        )

    @classmethod
    def from_config(
        cls, config: MarketConfig, base_precision: int, quote_precision: int
    ) -> MarketSpec:
        """Build from the stored market configuration (backend.domain.markets)."""
        return cls(
            tick_size=config.tick_size,
            step_size=config.step_size,
            base_precision=base_precision,
            quote_precision=quote_precision,
            min_quantity=config.min_quantity,
            max_quantity=config.max_quantity,
            min_notional=config.min_notional,
            maker_fee=config.maker_fee,
            taker_fee=config.taker_fee,
            price_band=config.price_band,
            market_protection=config.market_protection,
        )


def _exact_int(value: Decimal) -> int | None:
    integral = value.to_integral_value()
    return int(integral) if integral == value else None


def _multiple(value: Decimal, unit: Decimal, name: str) -> int:
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        count, rest = divmod(value, unit)
    if rest != 0:
        raise InvalidInput(name, f"{name} must be a multiple of {unit}")
    return int(count)


def price_to_ticks(spec: MarketSpec, price: Decimal) -> int:
    """Exact: raises InvalidInput("price") when the price is not a multiple of the tick size."""
    return _multiple(price, spec.tick_size, "price")


def ticks_to_price(spec: MarketSpec, ticks: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return ticks * spec.tick_size


def quantity_to_lots(spec: MarketSpec, quantity: Decimal) -> int:
    """Exact: raises InvalidInput("quantity") when not a multiple of the step size."""
    return _multiple(quantity, spec.step_size, "quantity")


def lots_to_quantity(spec: MarketSpec, lots: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        return lots * spec.step_size


def base_units(spec: MarketSpec, lots: int) -> int:
    return lots * spec.lot_units


def notional_units(spec: MarketSpec, ticks: int, lots: int) -> int:
    """Quote minor units of price x quantity: always an integer by construction of the spec."""
    return ticks * lots * spec.tick_lot_units


def amount_to_units(amount: Decimal, precision: int) -> int:
    """Exact Decimal -> minor units; raises InvalidInput("amount") if it has too many decimals."""
    units = _exact_int(amount.scaleb(precision))
    if units is None:
        raise InvalidInput("amount", f"amount has more than {precision} decimals")
    return units


def units_to_amount(units: int, precision: int) -> Decimal:
    return Decimal(units).scaleb(-precision)


def fee_units(received_units: int, rate: Fraction) -> int:
    """Fee on a received amount, rounded half-up to whole minor units, in integers only."""
    num, den = rate.numerator, rate.denominator
    return (2 * received_units * num + den) // (2 * den)


def protection_bounds(spec: MarketSpec, reference_ticks: int) -> tuple[int, int]:
    """Worst prices (ticks) a market sell / buy may fill at around a reference price.

    Returns (lowest for a sell, highest for a buy), rounded inwards onto the tick grid; with no
    protection configured, (0, a price no book can reach).
    """
    rate = spec.protection_rate
    if rate is None:
        return 0, NO_PRICE_LIMIT
    num, den = rate.numerator, rate.denominator
    low = -((-reference_ticks * (den - num)) // den)
    high = reference_ticks * (den + num) // den
    return low, high


NO_PRICE_LIMIT = 1 << 62
"""Stands for "no upper price bound" in ticks: larger than any representable price."""


def limit_hold(spec: MarketSpec, side_is_buy: bool, price_ticks: int, lots: int) -> int:
    """Hold a LIMIT order needs: its notional in quote units (buy) or its base units (sell)."""
    return price_ticks * lots * spec.tick_lot_units if side_is_buy else lots * spec.lot_units


def market_buy_hold(spec: MarketSpec, reference_ticks: int, lots: int) -> int:
    """Quote units that let a MARKET buy of `lots` fill anywhere inside its protection band."""
    _low, high = protection_bounds(spec, reference_ticks)
    if high == NO_PRICE_LIMIT:
        raise ValueError("without market protection a market buy by quantity has no price cap")
    return high * lots * spec.tick_lot_units
