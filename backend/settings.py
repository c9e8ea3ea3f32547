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
    # Spot trading limits (Binance's defaults: 200 open orders, 10 algo orders per symbol).
    max_open_orders_per_market: int = 200
    max_open_stop_orders: int = 10
    # Backpressure: new orders are refused while this many wait for the matcher in one market.
    max_pending_orders_per_market: int = 10_000
    # MARKET and IOC/FOK orders older than this when the matcher reaches them expire unfilled.
    taker_order_max_age_ms: int = 10_000
    # How long placeOrder waits for the matcher before answering with the PENDING_NEW order.
    place_order_wait_seconds: float = 2.0
    matcher_batch_size: int = 500
    matcher_poll_interval_seconds: float = 0.005
    # Master keys for secrets at rest, `id:base64key,...`, the first current (see
    # backend.security.envelope); empty: a development key kept in data_dir.
    master_keys: str = ""
    # ---- API keys, rate limits, GraphQL and HTTP hardening (issue 5; docs/security-api-keys.md)
    max_api_keys_per_user: int = 30
    # EXCHANGE_RATE_LIMITS=off disables every limit below (benchmarks).
    rate_limits_enabled: bool = True
    rate_limit_ip_per_minute: int = 6_000  # request weight, Binance's REQUEST_WEIGHT per IP
    rate_limit_user_per_minute: int = 6_000
    rate_limit_api_key_per_minute: int = 6_000
    rate_limit_orders_per_10s: int = 100  # per account, Binance's ORDERS per 10 s
    rate_limit_market_maker_factor: int = 10  # market-maker keys get this multiple
    max_request_bytes: int = 256 * 1024
    max_query_cost: int = 20_000
    cors_origins: tuple[str, ...] = ()
    hsts_seconds: int = 0  # 0: no Strict-Transport-Security (set it behind TLS)
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
            max_open_orders_per_market=_int("EXCHANGE_MAX_OPEN_ORDERS", 200),
            max_open_stop_orders=_int("EXCHANGE_MAX_OPEN_STOP_ORDERS", 10),
            max_pending_orders_per_market=_int("EXCHANGE_MAX_PENDING_ORDERS", 10_000),
            taker_order_max_age_ms=_int("EXCHANGE_TAKER_ORDER_MAX_AGE_MS", 10_000),
            place_order_wait_seconds=float(os.environ.get("EXCHANGE_PLACE_ORDER_WAIT", "2")),
            matcher_batch_size=_int("EXCHANGE_MATCHER_BATCH_SIZE", 500),
            master_keys=os.environ.get("EXCHANGE_MASTER_KEYS", ""),
            # API keys, rate limits, hardening
            max_api_keys_per_user=_int("EXCHANGE_MAX_API_KEYS_PER_USER", 30),
            rate_limits_enabled=_bool("EXCHANGE_RATE_LIMITS", True),
            rate_limit_ip_per_minute=_int("EXCHANGE_RATE_LIMIT_IP_PER_MINUTE", 6_000),
            rate_limit_user_per_minute=_int("EXCHANGE_RATE_LIMIT_USER_PER_MINUTE", 6_000),
            rate_limit_api_key_per_minute=_int("EXCHANGE_RATE_LIMIT_API_KEY_PER_MINUTE", 6_000),
            rate_limit_orders_per_10s=_int("EXCHANGE_RATE_LIMIT_ORDERS_PER_10S", 100),
            rate_limit_market_maker_factor=_int("EXCHANGE_RATE_LIMIT_MARKET_MAKER_FACTOR", 10),
            max_request_bytes=_int("EXCHANGE_MAX_REQUEST_BYTES", 256 * 1024),
            max_query_cost=_int("EXCHANGE_MAX_QUERY_COST", 20_000),
            cors_origins=tuple(
                o.strip()
                for o in os.environ.get("EXCHANGE_CORS_ORIGINS", "").split(",")
                if o.strip()
            ),
            hsts_seconds=_int("EXCHANGE_HSTS_SECONDS", 0),
        )

    def with_urls(self, database_url: str, redis_url: str) -> Settings:
        """A copy pointing at concrete servers (used once the embedded ones are up)."""
        from dataclasses import replace

        return replace(self, database_url=database_url, redis_url=redis_url)
