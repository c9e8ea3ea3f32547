"""API keys for bots: sealed secrets, scopes, IP allowlists, the market-maker tier flag."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from backend.db.tables import metadata

api_keys = Table(
    "api_keys",
    metadata,
    # The id is what bots send as X-API-Key: it names the key but grants nothing without the
    # secret, which is stored sealed (backend.security.envelope, context `api-key:<id>`) because
    # the server needs it in clear to check HMAC signatures.
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("scopes", ARRAY(String(16)), nullable=False),
    # Networks in CIDR notation; empty: any address.
    Column("ip_allowlist", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("secret_sealed", Text, nullable=False),
    # Higher rate-limit tier, set by an admin (audited).
    Column("market_maker", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("scopes <@ ARRAY['READ','TRADE','WITHDRAW']::varchar[]", name="scopes"),
    CheckConstraint("cardinality(scopes) > 0", name="scopes_not_empty"),
    CheckConstraint("length(label) > 0", name="label_not_empty"),
    Index("ix_api_keys_user_id", "user_id"),
)
