"""Every table of the write store and the read models, in one MetaData that Alembic migrates.

Money columns are NUMERIC(38, 18): exact, wide enough for 18-decimal EVM assets, and each carries a
CHECK refusing NaN (PostgreSQL's NUMERIC accepts 'NaN', Python's Decimal would too).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.types import UserDefinedType

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MONEY = Numeric(38, 18)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id, used to order the event log by commit visibility."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "XID8"


# Let reflection (and so Alembic's model-vs-database comparison) recognise the type.
postgresql_base.ischema_names["xid8"] = Xid8


def _now() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _not_nan(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} <> 'NaN'::numeric", name=f"{column}_not_nan")


assets = Table(
    "assets",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("precision", Integer, nullable=False),
    _now(),
    CheckConstraint("precision BETWEEN 0 AND 18", name="precision_range"),
    CheckConstraint("code ~ '^[A-Z0-9]{2,16}$'", name="code_format"),
)

markets = Table(
    "markets",
    metadata,
    Column("symbol", String(33), primary_key=True),
    Column("base", String(16), ForeignKey("assets.code"), nullable=False),
    Column("quote", String(16), ForeignKey("assets.code"), nullable=False),
    Column("tick_size", MONEY, nullable=False),
    Column("step_size", MONEY, nullable=False),
    Column("min_quantity", MONEY, nullable=False),
    Column("max_quantity", MONEY, nullable=False),
    Column("min_notional", MONEY, nullable=False),
    Column("maker_fee", MONEY, nullable=False),
    Column("taker_fee", MONEY, nullable=False),
    Column("price_band", MONEY, nullable=False),
    Column("market_protection", MONEY, nullable=False),
    Column("status", String(16), nullable=False, server_default="ENABLED"),
    Column("version", Integer, nullable=False, server_default="1"),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("base <> quote", name="distinct_assets"),
    CheckConstraint("tick_size > 0 AND step_size > 0", name="positive_increments"),
    CheckConstraint(
        "status IN ('ENABLED','POST_ONLY','LIMIT_ONLY','CANCEL_ONLY','DISABLED')", name="status"
    ),
    *[
        _not_nan(c)
        for c in (
            "tick_size",
            "step_size",
            "min_quantity",
            "max_quantity",
            "min_notional",
            "maker_fee",
            "taker_fee",
            "price_band",
            "market_protection",
        )
    ],
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # A compact integer identity for the matching engine (self-trade prevention compares owners).
    Column("number", BigInteger, Identity(), nullable=False, unique=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, server_default="user"),
    Column("status", String(16), nullable=False, server_default="active"),
    _now(),
    # Shown in every email we send, so the user can tell ours from a phishing copy.
    Column("anti_phishing_code", String(20)),
    CheckConstraint("role IN ('user','admin')", name="role"),
    CheckConstraint("status IN ('active','frozen','locked')", name="status"),
    CheckConstraint("email = lower(email)", name="email_lowercase"),
)

sessions = Table(
    "sessions",
    metadata,
    # Only a SHA-256 of the bearer token is stored: a leaked table grants no access.
    Column("token_hash", String(64), primary_key=True),
    Column("id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False, index=True),
    _now(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("ip", String(64)),
    Column("user_agent", String(256)),
)

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("asset", String(16), ForeignKey("assets.code"), nullable=False),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id")),
    Column("kind", String(24), nullable=False),
    Column("balance", MONEY, nullable=False, server_default="0"),
    # Only the external clearing account may go negative: it mirrors money outside the exchange.
    Column("may_go_negative", Boolean, nullable=False, server_default=text("false")),
    _not_nan("balance"),
    CheckConstraint("may_go_negative OR balance >= 0", name="non_negative"),
    CheckConstraint("NOT may_go_negative OR kind = 'external'", name="only_external_negative"),
    CheckConstraint(
        "(user_id IS NULL) = (kind IN ('fees','insurance_fund','external'))", name="owner_kind"
    ),
    UniqueConstraint("asset", "user_id", "kind", postgresql_nulls_not_distinct=True),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("reference", String(128)),
    Column("memo", Text),
    _now(),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("transfer_id", String(128), ForeignKey("transfers.id"), nullable=False, index=True),
    Column("account_id", BigInteger, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount", MONEY, nullable=False),
    _not_nan("amount"),
    CheckConstraint("amount <> 0", name="non_zero"),
    Index("ix_postings_account_id_id", "account_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("command", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result", JSONB, nullable=False),
    _now(),
    PrimaryKeyConstraint("scope", "key"),
)

# The change feed. `xact_id` is the writing transaction's id: readers order by (xact_id, position)
# and only read below the oldest running transaction, so a late commit is never skipped.
events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(), primary_key=True),
    Column("xact_id", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("stream", String(160), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_events_xact_id_position", "xact_id", "position"),
    Index("ix_events_stream_position", "stream", "position"),
    Index("ix_events_stream_xact_id_position", "stream", "xact_id", "position"),
)

projection_checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("xact_id", Xid8(), nullable=False, server_default=text("'0'::xid8")),
    Column("position", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Append-only and hash-chained (backend/db/audit.py, backend/security/audit_hash.py): `id` is the
# position in the chain (1, 2, 3, ... without gaps, assigned under the chain head's row lock) and
# `hash` covers the record and `prev_hash`. The services' role may only INSERT and SELECT here.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_id", UUID(as_uuid=True)),
    Column("action", String(64), nullable=False),
    Column("target", String(160), nullable=False),
    Column("reason", Text),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("ip", String(64)),
    Column("request_id", String(64)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id > 0", name="positive_id"),
    Index("ix_audit_log_actor_id_id", "actor_id", "id"),
    Index("ix_audit_log_action_id", "action", "id"),
)

# The chain's one head row: the last record's id and hash. Appenders lock it (UPDATE), so the
# chain never forks and ids never skip; verification checks it against the table's last row.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("singleton", Boolean, primary_key=True, server_default=text("true")),
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("singleton", name="singleton"),
)

# ---- spot trading (write side) ----

OPEN_ORDER_STATUSES = ("PENDING_NEW", "NEW", "PARTIALLY_FILLED")

orders = Table(
    "orders",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("owner", BigInteger, nullable=False),  # users.number, the engine's owner id
    Column("market", String(33), ForeignKey("markets.symbol"), nullable=False),
    Column("client_order_id", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(16), nullable=False),
    Column("time_in_force", String(3), nullable=False),
    Column("post_only", Boolean, nullable=False, server_default=text("false")),
    Column("self_trade_prevention", String(16), nullable=False),
    Column("price", MONEY),
    Column("stop_price", MONEY),
    Column("quantity", MONEY),
    Column("quote_quantity", MONEY),
    Column("filled_quantity", MONEY, nullable=False, server_default="0"),
    Column("filled_quote_quantity", MONEY, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="PENDING_NEW"),
    Column("expiry_reason", String(40)),
    Column("oco_group_id", BigInteger),
    Column("oco_sibling_id", BigInteger),
    Column("hold_asset", String(16), nullable=False),
    Column("hold_amount", MONEY, nullable=False),
    # What is still locked for this order; the matcher keeps it exact, so a restart rebuilds it.
    Column("hold_remaining", MONEY, nullable=False),
    Column("priority", BigInteger),  # the engine's time priority once resting or waiting
    Column("triggered", Boolean, nullable=False, server_default=text("false")),
    Column("stop_rises", Boolean),  # a waiting stop fires on a rise (True) or a fall (False)
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("side IN ('BUY','SELL')", name="side"),
    CheckConstraint("type IN ('MARKET','LIMIT','STOP_MARKET','STOP_LIMIT')", name="type"),
    CheckConstraint("time_in_force IN ('GTC','IOC','FOK')", name="tif"),
    CheckConstraint(
        "status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED','FILLED','CANCELED','EXPIRED',"
        "'REJECTED')",
        name="status",
    ),
    CheckConstraint("hold_remaining >= 0 AND hold_remaining <= hold_amount", name="hold_range"),
    *[_not_nan(c) for c in ("filled_quantity", "filled_quote_quantity", "hold_remaining")],
    UniqueConstraint("user_id", "client_order_id"),
    Index("ix_orders_user_id_id", "user_id", "id"),
    Index(
        "ix_orders_market_open",
        "market",
        "status",
        postgresql_where=text("status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED')"),
    ),
)

fills = Table(
    "fills",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("market", String(33), nullable=False),
    Column("sequence", BigInteger, nullable=False),  # the market-data sequence of the trade
    Column("price", MONEY, nullable=False),
    Column("quantity", MONEY, nullable=False),
    Column("quote_quantity", MONEY, nullable=False),
    Column("taker_side", String(4), nullable=False),
    Column("maker_order_id", BigInteger, nullable=False, index=True),
    Column("taker_order_id", BigInteger, nullable=False, index=True),
    Column("maker_user_id", UUID(as_uuid=True), nullable=False),
    Column("taker_user_id", UUID(as_uuid=True), nullable=False),
    Column("maker_fee", MONEY, nullable=False),
    Column("maker_fee_asset", String(16), nullable=False),
    Column("taker_fee", MONEY, nullable=False),
    Column("taker_fee_asset", String(16), nullable=False),
    Column("executed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("market", "sequence"),
    Index("ix_fills_maker_user_id_id", "maker_user_id", "id"),
    Index("ix_fills_taker_user_id_id", "taker_user_id", "id"),
)

# One row per market: the matcher's input checkpoint, fencing epoch and market-data sequence.
market_state = Table(
    "market_state",
    metadata,
    Column("market", String(33), ForeignKey("markets.symbol"), primary_key=True),
    Column("epoch", BigInteger, nullable=False, server_default="0"),
    Column("input_xact_id", Xid8(), nullable=False, server_default=text("'0'::xid8")),
    Column("input_position", BigInteger, nullable=False, server_default="0"),
    Column("sequence", BigInteger, nullable=False, server_default="0"),
    Column("batch", BigInteger, nullable=False, server_default="0"),
    Column("engine_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_price", MONEY),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# ---- read models (built only by projections; droppable and rebuildable) ----

ledger_entries_view = Table(
    "ledger_entries_view",
    metadata,
    Column("position", BigInteger, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("asset", String(16), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("transfer_id", String(128), nullable=False),
    Column("transfer_kind", String(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("transfer_id", "account_id"),
    Index("ix_ledger_entries_view_user_id_position", "user_id", "position"),
)

balances_view = Table(
    "balances_view",
    metadata,
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("asset", String(16), nullable=False),
    Column("available", MONEY, nullable=False, server_default="0"),
    Column("locked", MONEY, nullable=False, server_default="0"),
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "asset"),
)

order_book_view = Table(
    "order_book_view",
    metadata,
    Column("market", String(33), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", MONEY, nullable=False),
    Column("quantity", MONEY, nullable=False),
    PrimaryKeyConstraint("market", "side", "price"),
)

order_book_sequence_view = Table(
    "order_book_sequence_view",
    metadata,
    Column("market", String(33), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
)

candles_view = Table(
    "candles_view",
    metadata,
    Column("market", String(33), nullable=False),
    Column("interval", String(3), nullable=False),
    Column("bucket", DateTime(timezone=True), nullable=False),
    Column("open", MONEY, nullable=False),
    Column("high", MONEY, nullable=False),
    Column("low", MONEY, nullable=False),
    Column("close", MONEY, nullable=False),
    Column("volume", MONEY, nullable=False),
    Column("quote_volume", MONEY, nullable=False),
    Column("trades", BigInteger, nullable=False),
    Column("sequence", BigInteger, nullable=False),  # last trade sequence folded in
    PrimaryKeyConstraint("market", "interval", "bucket"),
)

READ_MODELS: dict[str, tuple[Table, ...]] = {
    "ledger_entries": (ledger_entries_view,),
    "balances": (balances_view,),
    "order_book": (order_book_view, order_book_sequence_view),
    "candles": (candles_view,),
}

# Areas that keep their tables in their own module register them on `metadata` when imported.
from backend.db import api_key_tables, login_tables, two_factor_tables  # noqa: E402, F401
