"""The `Decimal` scalar: JSON strings only, so amounts never pass through a float."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types.scalar import ScalarDefinition

from backend.domain.money import InvalidDecimal, parse_decimal_text


def _serialize(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"Decimal field resolved to {type(value).__name__}")


def _parse(value: object) -> Decimal | InvalidDecimal:
    # Never raise: bad input flows to the command, which answers with a typed ValidationError
    # naming the field (a transport-level error could not say which field of the input it was).
    return parse_decimal_text(value)


DECIMAL_SCALAR: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number as a JSON string matching ^-?\\d+(\\.\\d+)?$, e.g. "0.015".'
        " Numbers, exponents, NaN and infinities are refused. Amounts are returned at the"
        " asset's precision."
    ),
    serialize=_serialize,
    parse_value=_parse,
)

SCALAR_MAP = {Decimal: DECIMAL_SCALAR}
