"""Runs Alembic programmatically: the schema exists only through migrations."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from backend.db.engine import sqlalchemy_url
from backend.db.roles import DEFAULT_APP_ROLE, grant_sql

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str, app_role: str | None = None) -> Config:
    config = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url))
    if app_role is not None:
        config.attributes["app_role"] = app_role
    return config


def upgrade(database_url: str, revision: str = "head", *, app_role: str | None = None) -> None:
    command.upgrade(alembic_config(database_url, app_role), revision)
    if revision == "head":
        refresh_app_grants(database_url, app_role)


def downgrade(database_url: str, revision: str, *, app_role: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, app_role), revision)


def refresh_app_grants(database_url: str, app_role: str | None = None) -> None:
    """Re-apply the services' role grants (idempotent), so tables of every migration, read
    models' TRUNCATE included, are covered; default privileges catch the rest."""
    role = (
        os.environ.get("EXCHANGE_DB_APP_USER", DEFAULT_APP_ROLE) if app_role is None else app_role
    )
    if not role:
        return
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                for statement in grant_sql(role):
                    conn.execute(text(statement))
    finally:
        engine.dispose()
