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
    # Command transactions open at once per API process (the others queue before BEGIN).
    max_concurrent_commands: int = 8
    matcher_poll_interval_seconds: float = 0.005
    # Master keys for secrets at rest, `id:base64key,...`, the first current (see
    # backend.security.envelope); empty: a development key kept in data_dir.
    master_keys: str = ""
    # At most one projection nudge per this interval per process: a burst of commits costs one
    # worker pass; read models trail the write store by about this much more.
    projection_nudge_interval_seconds: float = 0.025
    # How often live WebSockets' sessions are re-checked (a revoked session's subscriptions end).
    ws_session_check_seconds: float = 5.0
    # Two-factor authentication (TOTP, SMS backup, withdrawal lock; docs/security-2fa.md).
    totp_issuer: str = "Exchange"
    sms_provider: str = "file"  # `file` (writes to data_dir/sms-outbox.jsonl) or `twilio`
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    sms_code_ttl_seconds: int = 300
    sms_resend_interval_seconds: int = 30
    withdrawal_lock_hours: int = 24
    # Login protection, login emails, sessions (issue 5; docs/security-login.md). Lockout: after
    # `max_failures` failed logins within the window a lock of `lock_base` seconds starts, doubling
    # with every further failure up to `lock_max`. Counters live in Redis; if Redis is down login
    # is refused (fail-closed) unless `login_guard_fail_open`.
    login_account_max_failures: int = 5
    login_ip_max_failures: int = 100
    login_failure_window_seconds: int = 900
    login_lock_base_seconds: int = 60
    login_lock_max_seconds: int = 3600
    login_guard_fail_open: bool = False
    # Comma-separated proxy addresses or networks whose X-Forwarded-For is believed; empty: the
    # TCP peer is the client, X-Forwarded-For is ignored.
    trusted_proxies: str = ""
    session_touch_interval_seconds: int = 60
    # Email: "file" writes .eml files to data_dir/mail (development), "smtp" sends through SMTP;
    # smtp_security is "none", "starttls" or "tls".
    email_backend: str = "file"
    email_from: str = "Exchange <no-reply@exchange.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = "starttls"
    smtp_timeout_seconds: float = 10.0
    outbox_poll_interval_seconds: float = 1.0
    outbox_max_attempts: int = 8
    # ---- database roles and the audit log (issue 5, security audit) ----
    # The services connect as this non-owner role (created by migration 0006); DATABASE_URL's
    # owner is for migrations only. A full EXCHANGE_APP_DATABASE_URL wins over the user name.
    db_app_user: str = "exchange_app"
    app_database_url: str = ""
    # The audit chain's head is exported this often to the anchor sink (a JSON-lines file per
    # database under `audit_anchor_dir`, default data_dir/audit-anchors).
    audit_anchor_interval_seconds: float = 60.0
    audit_anchor_dir: Path | None = None
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
            max_concurrent_commands=_int("EXCHANGE_MAX_CONCURRENT_COMMANDS", 8),
            master_keys=os.environ.get("EXCHANGE_MASTER_KEYS", ""),
            projection_nudge_interval_seconds=float(
                os.environ.get("EXCHANGE_PROJECTION_NUDGE_INTERVAL", "0.025")
            ),
            ws_session_check_seconds=float(
                os.environ.get("EXCHANGE_WS_SESSION_CHECK_SECONDS", "5")
            ),
            # two-factor authentication
            totp_issuer=os.environ.get("EXCHANGE_TOTP_ISSUER", "Exchange"),
            sms_provider=os.environ.get("EXCHANGE_SMS_PROVIDER", "file"),
            twilio_base_url=os.environ.get("EXCHANGE_TWILIO_BASE_URL", "https://api.twilio.com"),
            twilio_account_sid=os.environ.get("EXCHANGE_TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=os.environ.get("EXCHANGE_TWILIO_AUTH_TOKEN", ""),
            twilio_from_number=os.environ.get("EXCHANGE_TWILIO_FROM_NUMBER", ""),
            sms_code_ttl_seconds=_int("EXCHANGE_SMS_CODE_TTL_SECONDS", 300),
            sms_resend_interval_seconds=_int("EXCHANGE_SMS_RESEND_INTERVAL_SECONDS", 30),
            withdrawal_lock_hours=_int("EXCHANGE_WITHDRAWAL_LOCK_HOURS", 24),
            # Login protection, login emails, sessions (issue 5).
            login_account_max_failures=_int("EXCHANGE_LOGIN_ACCOUNT_MAX_FAILURES", 5),
            login_ip_max_failures=_int("EXCHANGE_LOGIN_IP_MAX_FAILURES", 100),
            login_failure_window_seconds=_int("EXCHANGE_LOGIN_FAILURE_WINDOW_SECONDS", 900),
            login_lock_base_seconds=_int("EXCHANGE_LOGIN_LOCK_BASE_SECONDS", 60),
            login_lock_max_seconds=_int("EXCHANGE_LOGIN_LOCK_MAX_SECONDS", 3600),
            login_guard_fail_open=_bool("EXCHANGE_LOGIN_GUARD_FAIL_OPEN", False),
            trusted_proxies=os.environ.get("EXCHANGE_TRUSTED_PROXIES", ""),
            session_touch_interval_seconds=_int("EXCHANGE_SESSION_TOUCH_INTERVAL_SECONDS", 60),
            email_backend=os.environ.get("EXCHANGE_EMAIL_BACKEND", "file"),
            email_from=os.environ.get("EXCHANGE_EMAIL_FROM", "Exchange <no-reply@exchange.local>"),
            smtp_host=os.environ.get("EXCHANGE_SMTP_HOST", "localhost"),
            smtp_port=_int("EXCHANGE_SMTP_PORT", 587),
            smtp_username=os.environ.get("EXCHANGE_SMTP_USERNAME", ""),
            smtp_password=os.environ.get("EXCHANGE_SMTP_PASSWORD", ""),
            smtp_security=os.environ.get("EXCHANGE_SMTP_SECURITY", "starttls"),
            smtp_timeout_seconds=float(os.environ.get("EXCHANGE_SMTP_TIMEOUT_SECONDS", "10")),
            outbox_poll_interval_seconds=float(os.environ.get("EXCHANGE_OUTBOX_POLL_SECONDS", "1")),
            outbox_max_attempts=_int("EXCHANGE_OUTBOX_MAX_ATTEMPTS", 8),
            # database roles and the audit log (issue 5, security audit)
            db_app_user=os.environ.get("EXCHANGE_DB_APP_USER", "exchange_app"),
            app_database_url=os.environ.get("EXCHANGE_APP_DATABASE_URL", ""),
            audit_anchor_interval_seconds=float(
                os.environ.get("EXCHANGE_AUDIT_ANCHOR_INTERVAL", "60")
            ),
            audit_anchor_dir=Path(os.environ["EXCHANGE_AUDIT_ANCHOR_DIR"])
            if os.environ.get("EXCHANGE_AUDIT_ANCHOR_DIR")
            else None,
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
