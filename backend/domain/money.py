"""Exact decimal parsing and formatting. Money never passes through float."""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation

from backend.domain.errors import InvalidInput

# ASCII digits only ("\d" would admit other scripts' digits, which Decimal() accepts), matched
# with fullmatch so a trailing newline cannot slip past "$".
DECIMAL_TEXT = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,40})?")
# Wide enough that no sum or rescaling of stored amounts (NUMERIC(38, 18)) ever rounds.
EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])
# Amounts are stored as NUMERIC(38, 18): below 10^20. Inputs stay well under that so sums of many
# of them still fit.
MAX_MAGNITUDE = Decimal(10) ** 15


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
    if not isinstance(raw, str) or not DECIMAL_TEXT.fullmatch(raw):
        return InvalidDecimal(raw)
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        return InvalidDecimal(raw)


def scale_of(value: Decimal) -> int:
    """Decimal places that matter: "1.50" has 1. Exact for any length (no context rounding,
    unlike Decimal.normalize(), which would round to 28 significant digits)."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not a finite decimal")
    if not any(digits):
        return 0
    end = len(digits)
    while exponent < 0 and end > 0 and digits[end - 1] == 0:
        end -= 1
        exponent += 1
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
        raise InvalidInput(field, f'{field} must be a decimal string like "12.5"')
    if abs(value) >= MAX_MAGNITUDE:
        raise InvalidInput(field, f"{field} is too large")
    places = 18 if precision is None else precision
    if scale_of(value) > places:
        raise InvalidInput(field, f"{field} has more than {places} decimal places")
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
    return format(value.quantize(quantum(precision), context=Context(prec=80)), "f")


def plain(value: Decimal) -> str:
    """Shortest fixed-point text (for sizes and rates that have no asset scale)."""
    text = format(value.normalize(), "f")
    return text
