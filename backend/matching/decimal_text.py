"""Exact decimal text of scaled integers, as `format(Decimal, "f")` writes it, in integer
arithmetic: the matcher writes several amounts per fill and per order change, and Decimal
arithmetic (with its context switches) cost more than the matching itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def fixed_point(units: int, decimals: int) -> str:
    """`units` x 10^-decimals with exactly `decimals` digits after the point (none if <= 0)."""
    if decimals <= 0:
        return str(units * 10**-decimals)
    digits = str(-units if units < 0 else units).rjust(decimals + 1, "0")
    text = f"{digits[:-decimals]}.{digits[-decimals:]}"
    return "-" + text if units < 0 else text


@dataclass(frozen=True, slots=True)
class Increment:
    """A tick or step size as coefficient x 10^-decimals: `count` of them is
    `count x coefficient` at the size's own scale, as Decimal multiplication would give."""

    coefficient: int
    decimals: int

    @classmethod
    def of(cls, size: Decimal) -> Increment:
        _sign, digits, exponent = size.as_tuple()
        if not isinstance(exponent, int):
            raise ValueError(f"not a finite size: {size}")
        return cls(int("".join(map(str, digits))), -exponent)

    def text(self, count: int) -> str:
        return fixed_point(count * self.coefficient, self.decimals)
