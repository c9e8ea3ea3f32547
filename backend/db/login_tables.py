"""Login protection: devices seen per user, session activity, and the outbound email outbox."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from backend.db.tables import metadata

known_devices = Table(
    "known_devices",
    metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    # SHA-256 of "ip\nuser agent": a login whose fingerprint is new for the user is notified.
    Column("fingerprint", String(64), nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(256)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "fingerprint"),
)

# Kept apart from `sessions` because it changes on reads (throttled, at most once a minute per
# session): bookkeeping, not a state change, so it carries no event.
session_activity = Table(
    "session_activity",
    metadata,
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("sessions.id"),
        primary_key=True,
    ),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ip", String(64)),
)

email_outbox = Table(
    "email_outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), index=True),
    Column("kind", String(32), nullable=False),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Also the claim: a worker that takes a row pushes this forward, so a crashed worker's
    # claim simply expires and another picks the row up.
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('pending','sent','failed')", name="status"),
    Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)
