"""PostgreSQL array literals built with str.join: a batch's columns go to the server as one text
value each (unnest on the server), instead of psycopg adapting every element in Python.

Elements are numbers, booleans, UUIDs and upper-case codes (asset, side, status, reason): none
holds a quote, a backslash or a comma. Text elements are double-quoted all the same, so an asset
named NULL stays text."""

from __future__ import annotations

from collections.abc import Sequence


def numbers(values: Sequence[object]) -> str:
    """Integers or decimal strings (never None)."""
    return "{" + ",".join(map(str, values)) + "}"


def optional_numbers(values: Sequence[int | None]) -> str:
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def texts(values: Sequence[str]) -> str:
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def optional_texts(values: Sequence[str | None]) -> str:
    return "{" + ",".join("NULL" if v is None else f'"{v}"' for v in values) + "}"


def booleans(values: Sequence[bool]) -> str:
    return "{" + ",".join("t" if v else "f" for v in values) + "}"


def optional_booleans(values: Sequence[bool | None]) -> str:
    return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"
