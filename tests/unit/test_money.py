"""Exact decimal parsing, validation and formatting: money never passes through float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.money import (
    MAX_MAGNITUDE,
    InvalidDecimal,
    fixed,
    parse_decimal_text,
    plain,
    require_decimal,
    scale_of,
)

D = Decimal


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "-0",
        "1",
        "12.5",
        "-12.50",
        "007",
        "0.000000000000000001",
        "9" * 30,
        "-" + "9" * 30 + "." + "9" * 18,
    ],
)
def test_parse_accepts_plain_decimal_text(raw: str) -> None:
    # when
    parsed = parse_decimal_text(raw)
    # then
    assert isinstance(parsed, Decimal)
    assert parsed == Decimal(raw)
    assert parsed.as_tuple() == Decimal(raw).as_tuple()  # the exact scale is kept


def test_parse_keeps_trailing_zeros() -> None:
    # when
    parsed = parse_decimal_text("1.500")
    # then
    assert str(parsed) == "1.500"


@pytest.mark.parametrize(
    "raw",
    [
        1.5,
        0.1,
        1,
        0,
        True,
        None,
        b"1",
        Decimal("1"),
        ["1"],
        "",
        "-",
        "1e3",
        "1E3",
        "1e-3",
        "NaN",
        "nan",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        " 1",
        "1 ",
        "\t1",
        "1.",
        ".5",
        "-.5",
        "+1",
        "--1",
        "1,000",
        "1_000",
        "0x10",
        "1.2.3",
        "1/2",
        "9" * 100,
        "0." + "1" * 100,
        "9" * 10_000,
    ],
)
def test_parse_refuses_anything_else(raw: object) -> None:
    # when
    parsed = parse_decimal_text(raw)
    # then
    assert isinstance(parsed, InvalidDecimal)
    assert parsed.raw is raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("1\n", id="trailing-newline"),
        pytest.param("0.5\n", id="fraction-trailing-newline"),
        pytest.param("\u0661\u0662\u0663", id="arabic-indic-digits"),
        pytest.param("\uff11\uff12", id="fullwidth-digits"),
    ],
)
def test_parse_refuses_newlines_and_non_ascii_digits(raw: str) -> None:
    # when
    parsed = parse_decimal_text(raw)
    # then
    assert isinstance(parsed, InvalidDecimal)


def test_invalid_decimal_shows_its_raw_input() -> None:
    # when
    marker = InvalidDecimal("1e3")
    # then
    assert repr(marker) == "InvalidDecimal('1e3')"


@pytest.mark.parametrize(
    ("value", "scale"),
    [
        (D("1"), 0),
        (D("1.50"), 1),
        (D("1E+2"), 0),
        (D("-0.0010"), 3),
        (D("1E-18"), 18),
        (D("100000000000000.00000000000001"), 14),
        (D("123456789012345678901234567890.123456789012345678901234567891"), 30),
    ],
)
def test_scale_of_counts_significant_places_exactly(value: Decimal, scale: int) -> None:
    # when / then
    assert scale_of(value) == scale


@pytest.mark.parametrize("value", [D("0.000"), D("-0.00000"), D("0E-18")])
def test_scale_of_zero_is_zero(value: Decimal) -> None:
    # when / then
    assert scale_of(value) == 0
    assert require_decimal(value, "minNotional", precision=0, non_negative=True) == 0


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity")])
def test_scale_of_refuses_non_finite(value: Decimal) -> None:
    # when / then
    with pytest.raises(ValueError, match="not a finite decimal"):
        scale_of(value)


def test_require_decimal_returns_a_valid_value_unchanged() -> None:
    # given
    value = D("12.50")
    # when
    result = require_decimal(value, "price", precision=2, positive=True, non_zero=True)
    # then
    assert result is value


@pytest.mark.parametrize(
    "value",
    [
        InvalidDecimal("abc"),
        "12.5",
        12.5,
        12,
        None,
        D("NaN"),
        D("sNaN"),
        D("Infinity"),
        D("-Infinity"),
    ],
)
def test_require_decimal_refuses_non_decimals_naming_the_field(value: object) -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(value, "limitPrice")
    # then
    assert caught.value.field == "limitPrice"
    assert caught.value.code == "VALIDATION_ERROR"
    assert "limitPrice" in caught.value.message


@pytest.mark.parametrize(
    ("value", "precision"),
    [
        (D("1.23"), 2),
        (D("1.2300000"), 2),  # trailing zeros are not extra precision
        (D("1E+2"), 0),
        (D("100.000"), 0),
        (D("0.000000000000000001"), 18),
        (D("-0.5"), 1),
    ],
)
def test_require_decimal_accepts_values_within_precision(value: Decimal, precision: int) -> None:
    # when
    result = require_decimal(value, "amount", precision=precision)
    # then
    assert result == value


@pytest.mark.parametrize(
    ("value", "precision"),
    [
        (D("1.234"), 2),
        (D("0.5"), 0),
        (D("-0.05"), 1),
        (D("0.0000000000000000001"), 18),
    ],
)
def test_require_decimal_refuses_extra_decimal_places(value: Decimal, precision: int) -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(value, "amount", precision=precision)
    # then
    assert caught.value.field == "amount"
    assert f"more than {precision} decimal places" in caught.value.message


def test_require_decimal_allows_at_most_18_places_by_default() -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(D("0.0000000000000000001"), "rate")
    # then
    assert caught.value.field == "rate"
    assert require_decimal(D("0.000000000000000001"), "rate") == D("1E-18")


@pytest.mark.parametrize("precision", [2, None])
def test_require_decimal_precision_holds_for_long_values(precision: int | None) -> None:
    # given: below MAX_MAGNITUDE, over 28 significant digits (where Decimal.normalize() would
    # round), 14 (or 19) decimal places
    value = (
        D("100000000000000.00000000000001")
        if precision
        else D("100000000000000.0000000000000000001")
    )
    # when / then
    with pytest.raises(InvalidInput):
        require_decimal(value, "amount", precision=precision)


@pytest.mark.parametrize("value", [MAX_MAGNITUDE, -MAX_MAGNITUDE, D("1E+30"), D("-" + "9" * 40)])
def test_require_decimal_refuses_huge_values(value: Decimal) -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(value, "amount")
    # then
    assert caught.value.field == "amount"
    assert caught.value.message == "amount is too large"


def test_require_decimal_accepts_values_just_under_the_limit() -> None:
    # given
    value = MAX_MAGNITUDE - D("0.01")
    # when / then
    assert require_decimal(value, "amount") == value
    assert require_decimal(-value, "amount") == -value


@pytest.mark.parametrize(
    ("value", "rule", "message"),
    [
        (D("0"), "positive", "must be greater than zero"),
        (D("-0.01"), "positive", "must be greater than zero"),
        (D("-0.01"), "non_negative", "must not be negative"),
        (D("0"), "non_zero", "must not be zero"),
        (D("-0"), "non_zero", "must not be zero"),
        (D("0E-8"), "non_zero", "must not be zero"),
    ],
)
def test_require_decimal_sign_rules(value: Decimal, rule: str, message: str) -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(value, "quantity", **{rule: True})
    # then
    assert caught.value.field == "quantity"
    assert caught.value.message == f"quantity {message}"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (D("0.01"), "positive"),
        (D("0"), "non_negative"),
        (D("5"), "non_negative"),
        (D("-1"), "non_zero"),
        (D("1"), "non_zero"),
    ],
)
def test_require_decimal_sign_rules_accept(value: Decimal, rule: str) -> None:
    # when
    result = require_decimal(value, "quantity", **{rule: True})
    # then
    assert result == value


def test_require_decimal_checks_precision_before_sign() -> None:
    # when
    with pytest.raises(InvalidInput) as caught:
        require_decimal(D("-0.001"), "amount", precision=2, positive=True)
    # then
    assert "decimal places" in caught.value.message


@pytest.mark.parametrize(
    ("value", "precision", "text"),
    [
        (D("1E+2"), 2, "100.00"),
        (D("1E+2"), 0, "100"),
        (D("1"), 8, "1.00000000"),
        (D("12.5"), 3, "12.500"),
        (D("1.500"), 1, "1.5"),
        (D("-0.1"), 2, "-0.10"),
        (D("0E-10"), 2, "0.00"),
        (D("1E-8"), 8, "0.00000001"),
        (D("1E-18"), 18, "0.000000000000000001"),
        (D("0"), 0, "0"),
        (D("123456789.123456789"), 18, "123456789.123456789000000000"),
    ],
)
def test_fixed_prints_exactly_precision_places(value: Decimal, precision: int, text: str) -> None:
    # when
    result = fixed(value, precision)
    # then
    assert result == text
    assert "E" not in result and "e" not in result


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("100000000000"), "100000000000.000000000000000000"),
        (D("99999999999999999999.999999999999999999"), "99999999999999999999.999999999999999999"),
    ],
)
def test_fixed_handles_values_as_wide_as_the_money_column(value: Decimal, text: str) -> None:
    # when
    result = fixed(value, 18)
    # then
    assert result == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1E+2"), "100"),
        (D("1.500"), "1.5"),
        (D("0.00010"), "0.0001"),
        (D("0E-8"), "0"),
        (D("-2.50"), "-2.5"),
        (D("1E-18"), "0.000000000000000001"),
        (D("25"), "25"),
    ],
)
def test_plain_prints_shortest_fixed_point(value: Decimal, text: str) -> None:
    # when
    result = plain(value)
    # then
    assert result == text
