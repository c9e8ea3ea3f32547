"""Market configuration rules: each broken rule is refused naming the right (camelCase) field."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.markets import MarketConfig, MarketStatus, market_symbol, validate_market

D = Decimal
BASE_PRECISION = 8
QUOTE_PRECISION = 6


def config(**overrides: Any) -> MarketConfig:
    """A valid BTC-USD market (base 8 decimals, quote 6), with some fields replaced."""
    valid = MarketConfig(
        symbol="BTC-USD",
        base="BTC",
        quote="USD",
        tick_size=D("0.01"),
        step_size=D("0.001"),
        min_quantity=D("0.001"),
        max_quantity=D("1000"),
        min_notional=D("1"),
        maker_fee=D("0.001"),
        taker_fee=D("0.002"),
        price_band=D("0.1"),
        market_protection=D("0.05"),
    )
    text_fields = {"symbol", "base", "quote", "status"}
    values: dict[str, Any] = {
        name: value if name in text_fields or not isinstance(value, str) else D(value)
        for name, value in overrides.items()
    }
    return replace(valid, **values)


def refused_field(
    market: MarketConfig,
    base_precision: int = BASE_PRECISION,
    quote_precision: int = QUOTE_PRECISION,
) -> str:
    with pytest.raises(InvalidInput) as caught:
        validate_market(market, base_precision, quote_precision)
    assert caught.value.code == "VALIDATION_ERROR"
    return caught.value.field


def test_symbol_joins_base_and_quote() -> None:
    # when
    symbol = market_symbol("BTC", "USD")
    # then
    assert symbol == "BTC-USD"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"min_quantity": "1000"},  # min == max
        {"min_notional": "0"},
        {"maker_fee": "0", "taker_fee": "0"},
        {"maker_fee": "0.0999", "taker_fee": "0.0999999"},
        {"price_band": "1"},
        {"price_band": "0.000001"},
        {"market_protection": "0.999"},
        {"tick_size": "0.000001", "step_size": "1", "min_quantity": "1"},  # tick at quote scale
        {"step_size": "0.00000001", "tick_size": "100", "min_quantity": "0.00000001"},
        {"tick_size": "0.1", "step_size": "0.00001", "min_quantity": "0.00001"},  # product at 6
        {"tick_size": "1E+1", "step_size": "1E+2", "min_quantity": "100", "max_quantity": "1E+5"},
        {"status": MarketStatus.CANCEL_ONLY},
    ],
)
def test_valid_configs_pass(overrides: dict[str, Any]) -> None:
    # given
    market = config(**overrides)
    # when / then
    validate_market(market, BASE_PRECISION, QUOTE_PRECISION)


@pytest.mark.parametrize(
    "overrides",
    [
        {"symbol": "BTCUSD"},
        {"symbol": "USD-BTC"},
        {"symbol": "btc-usd"},
        {"symbol": "BTC/USD"},
        {"symbol": "BTC-USD "},
        {"symbol": ""},
        {"base": "ETH"},
    ],
)
def test_symbol_must_be_base_dash_quote(overrides: dict[str, Any]) -> None:
    # when
    field = refused_field(config(**overrides))
    # then
    assert field == "symbol"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tick_size": "0"}, "tickSize"),
        ({"tick_size": "-0.01"}, "tickSize"),
        ({"tick_size": "0.0000001"}, "tickSize"),  # 7 decimals, quote has 6
        ({"step_size": "0"}, "stepSize"),
        ({"step_size": "-0.001"}, "stepSize"),
        ({"step_size": "0.000000001"}, "stepSize"),  # 9 decimals, base has 8
    ],
)
def test_increments_must_be_positive_and_fit_their_asset(
    overrides: dict[str, Any], field: str
) -> None:
    # when / then
    assert refused_field(config(**overrides)) == field


def test_tick_times_step_must_fit_the_quote_precision() -> None:
    # given: tick (4 decimals) and step (3 decimals) each fit, their product (7) does not
    market = config(tick_size="0.0001")
    # when
    with pytest.raises(InvalidInput) as caught:
        validate_market(market, BASE_PRECISION, QUOTE_PRECISION)
    # then
    assert caught.value.field == "tickSize"
    assert "0.0000001" in caught.value.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_quantity": "0.0015"}, "minQuantity"),
        ({"max_quantity": "1000.0005"}, "maxQuantity"),
        ({"min_quantity": "0"}, "minQuantity"),
        ({"min_quantity": "-0.001"}, "minQuantity"),
        ({"min_quantity": "1", "max_quantity": "0.5"}, "maxQuantity"),
        ({"min_quantity": "1", "max_quantity": "0"}, "maxQuantity"),
        ({"min_notional": "-0.000001"}, "minNotional"),
    ],
)
def test_quantity_limits_are_ordered_multiples_of_step(
    overrides: dict[str, Any], field: str
) -> None:
    # when / then
    assert refused_field(config(**overrides)) == field


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"maker_fee": "-0.0001"}, "makerFee"),
        ({"maker_fee": "0.1"}, "makerFee"),
        ({"maker_fee": "1"}, "makerFee"),
        ({"taker_fee": "-0.0001"}, "takerFee"),
        ({"taker_fee": "0.1"}, "takerFee"),
        ({"price_band": "0"}, "priceBand"),
        ({"price_band": "-0.1"}, "priceBand"),
        ({"price_band": "1.000001"}, "priceBand"),
        ({"market_protection": "0"}, "marketProtection"),
        ({"market_protection": "1"}, "marketProtection"),
        ({"market_protection": "-0.05"}, "marketProtection"),
    ],
)
def test_fee_band_and_protection_ranges(overrides: dict[str, Any], field: str) -> None:
    # when / then
    assert refused_field(config(**overrides)) == field


def test_the_first_broken_rule_is_reported() -> None:
    # given: a bad symbol, tick, fee and band at once
    market = config(symbol="X", tick_size="0", maker_fee="1", price_band="0")
    # when / then
    assert refused_field(market) == "symbol"


def test_precision_zero_assets_need_whole_increments() -> None:
    # given
    market = config(tick_size="1", step_size="0.5", min_quantity="1", max_quantity="10")
    # when / then
    assert refused_field(market, base_precision=0, quote_precision=0) == "stepSize"


def test_large_quantity_limits_with_a_fine_step() -> None:
    # given: an 18-decimal base asset; 1e11 is a multiple of the step
    market = config(
        tick_size="1", step_size="1E-18", min_quantity="1E-18", max_quantity="100000000000"
    )
    # when / then
    validate_market(market, 18, 18)


def test_as_row_and_as_json_carry_every_field() -> None:
    # given
    market = config()
    # when
    row = market.as_row()
    as_json = market.as_json()
    # then
    assert row["tick_size"] == D("0.01")
    assert row["status"] is MarketStatus.ENABLED
    assert as_json["tick_size"] == "0.01"
    assert as_json["status"] == "ENABLED"
    assert (
        set(row)
        == set(as_json)
        == {
            "symbol",
            "base",
            "quote",
            "tick_size",
            "step_size",
            "min_quantity",
            "max_quantity",
            "min_notional",
            "maker_fee",
            "taker_fee",
            "price_band",
            "market_protection",
            "status",
        }
    )
