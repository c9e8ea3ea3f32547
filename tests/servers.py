"""The PostgreSQL and Redis the tests use: the ones DATABASE_URL / REDIS_URL name, else embedded.

Each test session gets its own freshly migrated database on that server and its own queue
namespace, so runs never see each other's data. An unreachable server fails the run (never skips).
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from backend.db.engine import libpq_url
from backend.db.migrations import upgrade


@dataclass
class ServerPair:
    admin_url: str  # libpq URL of the server's maintenance database
    redis_url: str
    embedded: object | None = None

    def create_database(self, name: str, *, migrate: bool = True) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = with_database(self.admin_url, name)
        if migrate:
            upgrade(url)
        return url

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def start_test_servers() -> ServerPair:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    embedded = None
    if not database_url or not redis_url:
        from backend.embedded import start_embedded

        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="exchange-test-")))
        database_url = database_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
    admin_url = with_database(libpq_url(database_url), "postgres")
    with psycopg.connect(admin_url, connect_timeout=5) as conn:  # fail loudly if unreachable
        conn.execute("SELECT 1")
    return ServerPair(admin_url, redis_url, embedded)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """A loopback port nobody listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
