"""The matcher's integer formatting writes exactly what Decimal arithmetic and format "f" would."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backend.domain.spot.units import units_to_amount
from backend.matching.decimal_text import Increment, fixed_point

SIZES = ["0.01", "0.010", "0.5", "1", "10", "1E+1", "0.00000001", "25", "0.000000000000000001"]


@given(st.integers(-(10**28) + 1, 10**28 - 1), st.integers(0, 18))
def test_fixed_point_is_units_to_amount(units: int, decimals: int) -> None:
    # Up to 28 digits: beyond that units_to_amount itself rounds (Decimal's default context).
    assert fixed_point(units, decimals) == format(units_to_amount(units, decimals), "f")


@given(st.sampled_from(SIZES), st.integers(0, 10**12))
def test_increment_text_is_decimal_multiplication(size: str, count: int) -> None:
    assert Increment.of(Decimal(size)).text(count) == format(count * Decimal(size), "f")
