"""The schema exists only through migrations, which match the models and round-trip."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import sqlalchemy_url
from backend.db.migrations import downgrade, upgrade
from backend.db.tables import metadata
from tests.servers import ServerPair, unique_name


async def test_migrated_schema_equals_models(engine: AsyncEngine) -> None:
    # when
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    # then
    assert diff == []


def test_downgrade_and_upgrade_round_trip(servers: ServerPair) -> None:
    # given
    name = unique_name("exchange_migrate")
    url = servers.create_database(name, migrate=False)
    sync_engine = create_engine(sqlalchemy_url(url))
    try:
        # when
        upgrade(url)
        tables_at_head = set(inspect(sync_engine).get_table_names())
        downgrade(url, "base")
        tables_at_base = set(inspect(sync_engine).get_table_names())
        upgrade(url)
        tables_again = set(inspect(sync_engine).get_table_names())
        # then
        assert set(metadata.tables) <= tables_at_head
        assert tables_at_base <= {"alembic_version"}
        assert tables_again == tables_at_head
    finally:
        sync_engine.dispose()
        servers.drop_database(name)


async def test_connections_carry_timeouts(engine: AsyncEngine) -> None:
    # when
    async with engine.connect() as conn:
        values = [
            (await conn.execute(text(f"SHOW {name}"))).scalar_one()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        ]
    # then
    assert values == ["15s", "5s", "30s"]
