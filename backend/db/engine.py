"""Engine factory: psycopg 3 under SQLAlchemy's asyncio layer, with server-side safety timeouts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from backend.db.roles import service_database_url
from backend.settings import Settings


def sqlalchemy_url(url: str) -> str:
    """Accept plain libpq URLs (`postgresql://`, `postgres://`) and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The same URL as psycopg/psql expect it (without the SQLAlchemy driver suffix)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://") :]


def session_options(settings: Settings) -> str:
    # Every connection carries its own limits, so a stuck statement or an abandoned transaction
    # can never hold locks (and the event log's visibility horizon) for long.
    return (
        f"-c statement_timeout={settings.statement_timeout_ms}"
        f" -c lock_timeout={settings.lock_timeout_ms}"
        f" -c idle_in_transaction_session_timeout={settings.idle_in_transaction_timeout_ms}"
    )


def make_engine(
    settings: Settings,
    *,
    pool_size: int | None = None,
    options: str | None = None,
    owner: bool = False,
    ping_after_idle_seconds: float | None = None,
) -> AsyncEngine:
    """An engine on the services' non-owner role (backend.db.roles); `owner=True` connects with
    DATABASE_URL itself, which only migrations and operator tooling should need.

    A pooled connection is checked with a ping before each use, or, with
    `ping_after_idle_seconds`, only when it sat idle that long: on a busy request path a
    connection used a moment ago is alive, and a ping per use is a round trip per use."""
    size = settings.db_pool_size if pool_size is None else pool_size
    url = settings.database_url if owner else service_database_url(settings)
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=ping_after_idle_seconds is None,
        connect_args={"options": options or session_options(settings)},
    )
    if ping_after_idle_seconds is not None:
        _ping_when_idle(engine, ping_after_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, seconds: float) -> None:
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since >= seconds:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:  # the pool drops it and connects anew (up to 3 times)
                raise DisconnectionError() from exc


async def check_pool_fits(engine: AsyncEngine, settings: Settings, processes: int = 1) -> None:
    """Refuse to start when the configured pools could exhaust the server's connections."""
    async with engine.connect() as conn:
        max_connections = int((await conn.execute(text("SHOW max_connections"))).scalar_one())
    wanted = (settings.db_pool_size + settings.db_max_overflow) * processes
    if wanted > max_connections - 3:  # superuser_reserved_connections defaults to 3
        raise RuntimeError(
            f"pool of {wanted} connections does not fit max_connections={max_connections};"
            " lower EXCHANGE_DB_POOL_SIZE / EXCHANGE_DB_MAX_OVERFLOW"
        )


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection outside any transaction: each statement commits on its own, so a
    read of one statement costs one round trip (no BEGIN, no ROLLBACK)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
