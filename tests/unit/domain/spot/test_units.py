"""MarketSpec derived integers and exact Decimal <-> ticks / lots / minor units conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.markets import MarketConfig
from backend.domain.spot.units import (
    NO_PRICE_LIMIT,
    MarketSpec,
    amount_to_units,
    lots_to_quantity,
    market_buy_hold,
    notional_units,
    price_to_ticks,
    protection_bounds,
    quantity_to_lots,
    ticks_to_price,
    units_to_amount,
)
from tests.unit.domain.spot.factories import a_spec


def a_btc_usdt_spec(**overrides: object) -> MarketSpec:
    fields: dict[str, object] = {
        "tick_size": Decimal("0.01"),
        "step_size": Decimal("0.00001"),
        "base_precision": 8,
        "quote_precision": 8,
        "min_quantity": Decimal("0.00001"),
        "max_quantity": Decimal("9000"),
        "min_notional": Decimal("5"),
        "maker_fee": Decimal("0.001"),
        "taker_fee": Decimal("0.001"),
    }
    fields.update(overrides)
    return MarketSpec(**fields)  # type: ignore[arg-type]


def test_spec_derives_lot_and_tick_lot_units() -> None:
    # given / when
    spec = a_btc_usdt_spec()
    # then: 0.00001 BTC = 1000 sat; 0.01 x 0.00001 = 1e-7 USDT = 10 units
    assert (spec.lot_units, spec.tick_lot_units) == (1000, 10)


def test_spec_whose_notional_needs_more_quote_decimals_is_refused() -> None:
    # given / when / then
    with pytest.raises(InvalidInput) as error:
        a_btc_usdt_spec(quote_precision=6)
    assert error.value.field == "tickSize"


def test_price_and_quantity_convert_exactly_both_ways() -> None:
    # given
    spec = a_btc_usdt_spec()
    # when
    ticks = price_to_ticks(spec, Decimal("64123.45"))
    lots = quantity_to_lots(spec, Decimal("1.23456"))
    # then
    assert (ticks, lots) == (6412345, 123456)
    assert ticks_to_price(spec, ticks) == Decimal("64123.45")
    assert lots_to_quantity(spec, lots) == Decimal("1.23456")
    assert notional_units(spec, ticks, lots) == 6412345 * 123456 * 10
    assert units_to_amount(notional_units(spec, ticks, lots), 8) == Decimal("64123.45") * Decimal(
        "1.23456"
    )


def test_off_grid_values_are_refused_not_rounded() -> None:
    # given
    spec = a_btc_usdt_spec()
    # when / then
    with pytest.raises(InvalidInput):
        price_to_ticks(spec, Decimal("1.001"))
    with pytest.raises(InvalidInput):
        quantity_to_lots(spec, Decimal("0.000011"))
    with pytest.raises(InvalidInput):
        amount_to_units(Decimal("0.123456789"), 8)


def test_protection_bounds_round_inwards() -> None:
    # given: 5 % around 101 -> [95.95, 106.05]
    spec = a_spec(market_protection=Decimal("0.05"))
    # when / then
    assert protection_bounds(spec, 101) == (96, 106)
    assert protection_bounds(a_spec(market_protection=None), 101) == (0, NO_PRICE_LIMIT)
    assert market_buy_hold(spec, 101, 3) == 106 * 3 * 100


def test_spec_from_market_config() -> None:
    # given
    config = MarketConfig(
        symbol="BTC-USDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_quantity=Decimal("0.00001"),
        max_quantity=Decimal("9000"),
        min_notional=Decimal("5"),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.002"),
        price_band=Decimal("0.2"),
        market_protection=Decimal("0.05"),
    )
    # when
    spec = MarketSpec.from_config(config, 8, 8)
    # then
    assert (spec.lot_units, spec.tick_lot_units, spec.taker_fee) == (1000, 10, Decimal("0.002"))
