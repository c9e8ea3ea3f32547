"""The request path's hottest statements, and the matcher's per-batch ones, run on the driver's
(psycopg's) connection under a SQLAlchemy one, in the same transaction. For these small
statements SQLAlchemy's own work per statement (a greenlet switch, result metadata matched by
column name, cache keys) cost more CPU than the statement's round trip. The SQL uses psycopg's
`%(name)s` placeholders; psycopg prepares a statement on the server after a few runs. Errors are
psycopg's, not wrapped in SQLAlchemy's (the command bus, the matcher and the error masking know
both)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncConnection


async def driver_connection(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under `conn` (same session, same transaction)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError(f"not a psycopg connection: {type(driver).__name__}")
    return driver


async def fetch_all(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows as named tuples."""
    async with (await driver_connection(conn)).cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall()


async def fetch_one(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> Any | None:
    """The first row as a named tuple, or None."""
    async with (await driver_connection(conn)).cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchone()


async def fetch_tuples(
    conn: AsyncConnection, sql: str, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Rows as plain tuples (for results whose column names repeat, read by position)."""
    async with (await driver_connection(conn)).cursor() as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall()
