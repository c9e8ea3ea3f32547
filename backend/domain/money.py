"""Exact decimal parsing and formatting. Money never passes through float."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from backend.domain.errors import InvalidInput

DECIMAL_TEXT = re.compile(r"^-?\d{1,30}(\.\d{1,18})?$")


class InvalidDecimal:
    """What the GraphQL scalar yields for unparsable input, so the command can answer with a
    typed ValidationError naming the field instead of a transport-level error."""

    __slots__ = ("raw",)

    def __init__(self, raw: object) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"InvalidDecimal({self.raw!r})"


def parse_decimal_text(raw: object) -> Decimal | InvalidDecimal:
    """Strings matching `^-?\\d+(\\.\\d+)?$` only: no numbers, exponents, NaN or infinities."""
    if not isinstance(raw, str) or not DECIMAL_TEXT.match(raw):
        return InvalidDecimal(raw)
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        return InvalidDecimal(raw)


def scale_of(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def require_decimal(
    value: object,
    field: str,
    *,
    precision: int | None = None,
    positive: bool = False,
    non_negative: bool = False,
    non_zero: bool = False,
) -> Decimal:
    """Validate a decimal input; raises InvalidInput naming `field`."""
    if isinstance(value, InvalidDecimal) or not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(field, f"{field} must be a decimal string like \"12.5\"")
    if precision is not None and scale_of(value.normalize()) > precision:
        raise InvalidInput(field, f"{field} has more than {precision} decimal places")
    if positive and value <= 0:
        raise InvalidInput(field, f"{field} must be greater than zero")
    if non_negative and value < 0:
        raise InvalidInput(field, f"{field} must not be negative")
    if non_zero and value == 0:
        raise InvalidInput(field, f"{field} must not be zero")
    return value


def quantum(precision: int) -> Decimal:
    return Decimal(1).scaleb(-precision)


def fixed(value: Decimal, precision: int) -> str:
    """Fixed-point text at exactly `precision` places (never exponent notation)."""
    return format(value.quantize(quantum(precision)), "f")


def plain(value: Decimal) -> str:
    """Shortest fixed-point text (for sizes and rates that have no asset scale)."""
    text = format(value.normalize(), "f")
    return text
