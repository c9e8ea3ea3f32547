"""Settings read once from the environment; every component takes a Settings, never os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. URLs left empty mean "use the embedded servers"."""

    database_url: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    # Pool sizes are per process; `pool_size + max_overflow` times the process count must stay
    # below the server's max_connections (checked at start, see backend.db.engine).
    db_pool_size: int = 10
    db_max_overflow: int = 5
    statement_timeout_ms: int = 15_000
    lock_timeout_ms: int = 5_000
    idle_in_transaction_timeout_ms: int = 30_000
    session_ttl_seconds: int = 7 * 24 * 3600
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: str = ""
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = 100
    projection_batch_size: int = 500
    sweep_interval_seconds: float = 1.0
    queue_namespace: str = "exchange"
    # Defaults a market gets when the admin leaves them out.
    default_maker_fee: Decimal = Decimal("0.001")
    default_taker_fee: Decimal = Decimal("0.001")
    seed_demo_markets: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", ""),
            redis_url=os.environ.get("REDIS_URL", ""),
            host=os.environ.get("EXCHANGE_HOST", "127.0.0.1"),
            port=_int("EXCHANGE_PORT", 8000),
            data_dir=Path(os.environ.get("EXCHANGE_DATA_DIR", ".data")),
            db_pool_size=_int("EXCHANGE_DB_POOL_SIZE", 10),
            db_max_overflow=_int("EXCHANGE_DB_MAX_OVERFLOW", 5),
            statement_timeout_ms=_int("EXCHANGE_STATEMENT_TIMEOUT_MS", 15_000),
            lock_timeout_ms=_int("EXCHANGE_LOCK_TIMEOUT_MS", 5_000),
            idle_in_transaction_timeout_ms=_int("EXCHANGE_IDLE_IN_TX_TIMEOUT_MS", 30_000),
            session_ttl_seconds=_int("EXCHANGE_SESSION_TTL_SECONDS", 7 * 24 * 3600),
            bootstrap_admin_email=os.environ.get("EXCHANGE_BOOTSTRAP_ADMIN_EMAIL", ""),
            bootstrap_admin_password=os.environ.get("EXCHANGE_BOOTSTRAP_ADMIN_PASSWORD", ""),
            graphiql=_bool("EXCHANGE_GRAPHIQL", True),
            introspection=_bool("EXCHANGE_INTROSPECTION", True),
            queue_namespace=os.environ.get("EXCHANGE_QUEUE_NAMESPACE", "exchange"),
            seed_demo_markets=_bool("EXCHANGE_SEED_DEMO", True),
        )

    def with_urls(self, database_url: str, redis_url: str) -> Settings:
        """A copy pointing at concrete servers (used once the embedded ones are up)."""
        from dataclasses import replace

        return replace(self, database_url=database_url, redis_url=redis_url)
