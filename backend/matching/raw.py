"""The psycopg connection under a SQLAlchemy one: the matcher's per-batch statements go to it
directly, skipping SQLAlchemy's per-statement and per-row machinery (same session, same
transaction)."""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection


async def driver_connection(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    pg = (await conn.get_raw_connection()).driver_connection
    if not isinstance(pg, psycopg.AsyncConnection):
        raise TypeError(f"the matcher runs on psycopg, not {type(pg).__name__}")
    return pg
