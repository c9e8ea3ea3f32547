"""Entry filters: PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE; Decimal in, integers out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.spot.filters import (
    FilterFailure,
    limit_order_units,
    market_order_units,
    price_ticks,
)
from backend.domain.spot.units import MarketSpec
from tests.unit.domain.spot.factories import a_spec


def spec_with_band() -> MarketSpec:
    return a_spec(
        tick_size=Decimal("0.5"),
        step_size=Decimal("0.1"),
        min_quantity=Decimal("0.2"),
        max_quantity=Decimal("50"),
        min_notional=Decimal("30"),
        price_band=Decimal("0.1"),
    )


def test_valid_limit_order_converts_to_ticks_and_lots() -> None:
    # given
    spec = spec_with_band()
    # when
    units = limit_order_units(spec, Decimal("100.5"), Decimal("1.3"), Decimal("100"))
    # then
    assert units == (201, 13)


@pytest.mark.parametrize(
    ("price", "quantity", "filter_name"),
    [
        ("100.2", "1", "PRICE_FILTER"),
        ("0", "1", "PRICE_FILTER"),
        ("100", "1.05", "LOT_SIZE"),
        ("100", "0.1", "LOT_SIZE"),
        ("100", "50.1", "LOT_SIZE"),
        ("100", "0.2", "MIN_NOTIONAL"),
        ("111", "1", "PERCENT_PRICE"),
        ("89.5", "1", "PERCENT_PRICE"),
    ],
)
def test_limit_order_breaking_a_filter_is_refused(
    price: str, quantity: str, filter_name: str
) -> None:
    # given
    spec = spec_with_band()
    # when
    with pytest.raises(FilterFailure) as error:
        limit_order_units(spec, Decimal(price), Decimal(quantity), Decimal("100"))
    # then
    assert error.value.filter_name == filter_name
    assert error.value.code == "VALIDATION_ERROR"


def test_band_is_not_checked_without_a_reference_price() -> None:
    # given
    spec = spec_with_band()
    # when / then
    assert price_ticks(spec, Decimal("500"), None, "price") == 1000


def test_market_order_takes_exactly_one_of_quantity_and_quote_quantity() -> None:
    # given
    spec = spec_with_band()
    # when / then
    assert market_order_units(spec, Decimal("2"), None, Decimal("100")) == (20, 0)
    assert market_order_units(spec, None, Decimal("32.34")) == (0, 3234)
    with pytest.raises(InvalidInput):
        market_order_units(spec, None, None)
    with pytest.raises(InvalidInput):
        market_order_units(spec, Decimal("1"), Decimal("1"))
    with pytest.raises(FilterFailure):
        market_order_units(spec, None, Decimal("29.99"))
