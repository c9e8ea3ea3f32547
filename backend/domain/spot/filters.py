"""Entry filters that need no book (tick, step, min/max quantity, notional, price band).

The command handler calls these before accepting an order; they convert the Decimal inputs to the
engine's integers on success, so an order that reaches the engine is valid by construction.
Names follow Binance's filters (PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE).
"""

from __future__ import annotations

from decimal import Decimal

from backend.domain.errors import InvalidInput
from backend.domain.spot.units import MarketSpec, amount_to_units, price_to_ticks, quantity_to_lots


class FilterFailure(InvalidInput):
    """The order breaks one of the market's filters; `filter_name` says which."""

    def __init__(self, field: str, filter_name: str, message: str) -> None:
        super().__init__(field, f"Filter failure: {filter_name}: {message}")
        self.filter_name = filter_name


def limit_order_units(
    spec: MarketSpec, price: Decimal, quantity: Decimal, reference_price: Decimal | None = None
) -> tuple[int, int]:
    """Check a LIMIT (or LIMIT leg) order; returns (price ticks, lots)."""
    ticks = price_ticks(spec, price, reference_price, "price")
    lots = checked_lots(spec, quantity)
    if price * quantity < spec.min_notional:
        raise FilterFailure("quantity", "MIN_NOTIONAL", f"price x quantity < {spec.min_notional}")
    return ticks, lots


def market_order_units(
    spec: MarketSpec,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    reference_price: Decimal | None = None,
) -> tuple[int, int]:
    """Check a MARKET order given by exactly one of quantity / quote_quantity.

    Returns (lots, quote units); the one not given is 0. The notional check uses the reference
    price (last trade) when there is one, as Binance's applyToMarket does.
    """
    if quote_quantity is not None:
        if quantity is not None:
            raise InvalidInput("quantity", "give exactly one of quantity and quoteQuantity")
        if quote_quantity <= 0:
            raise InvalidInput("quoteQuantity", "quoteQuantity must be greater than zero")
        if quote_quantity < spec.min_notional:
            raise FilterFailure(
                "quoteQuantity", "MIN_NOTIONAL", f"quoteQuantity < {spec.min_notional}"
            )
        return 0, amount_to_units(quote_quantity, spec.quote_precision)
    if quantity is None:
        raise InvalidInput("quantity", "give exactly one of quantity and quoteQuantity")
    lots = checked_lots(spec, quantity)
    if reference_price is not None and reference_price * quantity < spec.min_notional:
        raise FilterFailure("quantity", "MIN_NOTIONAL", f"notional < {spec.min_notional}")
    return lots, 0


def price_ticks(
    spec: MarketSpec, price: Decimal, reference_price: Decimal | None, field: str
) -> int:
    """PRICE_FILTER (positive, on the tick grid) and PERCENT_PRICE (within the band around the
    reference price, when both exist); also used for stop prices."""
    if price <= 0:
        raise FilterFailure(field, "PRICE_FILTER", f"{field} must be greater than zero")
    if price % spec.tick_size != 0:
        raise FilterFailure(
            field, "PRICE_FILTER", f"{field} must be a multiple of {spec.tick_size}"
        )
    band = spec.price_band
    if band is not None and reference_price is not None:
        low, high = reference_price * (1 - band), reference_price * (1 + band)
        if not low <= price <= high:
            raise FilterFailure(
                field, "PERCENT_PRICE", f"{field} must lie within {low:f}..{high:f}"
            )
    return price_to_ticks(spec, price)


def checked_lots(spec: MarketSpec, quantity: Decimal) -> int:
    """LOT_SIZE: on the step grid and within [min_quantity, max_quantity]."""
    if quantity % spec.step_size != 0:
        raise FilterFailure(
            "quantity", "LOT_SIZE", f"quantity must be a multiple of {spec.step_size}"
        )
    if not spec.min_quantity <= quantity <= spec.max_quantity:
        raise FilterFailure(
            "quantity",
            "LOT_SIZE",
            f"quantity must lie within {spec.min_quantity}..{spec.max_quantity}",
        )
    return quantity_to_lots(spec, quantity)
