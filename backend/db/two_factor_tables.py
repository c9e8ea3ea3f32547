"""Two-factor authentication: TOTP credentials, recovery codes, SMS phones and codes, and the
per-user security state (withdrawal lock, second-factor failure counter)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from backend.db.tables import metadata


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _user_id(*, primary_key: bool = False) -> Column[object]:
    return Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id"),
        nullable=False,
        primary_key=primary_key,
        index=not primary_key,
    )


totp_credentials = Table(
    "totp_credentials",
    metadata,
    _user_id(primary_key=True),
    # Sealed with backend.security.envelope under the context `totp:<user id>`.
    Column("secret_sealed", Text, nullable=False),
    # NULL while the enrolment waits for its first valid code.
    Column("confirmed_at", DateTime(timezone=True)),
    # The last accepted RFC 6238 time step: a code of this step or an earlier one is a replay.
    Column("last_step", BigInteger),
    _created_at(),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _user_id(),
    # SHA-256 of the normalized code: codes carry 80 random bits, so a fast hash is enough.
    Column("code_hash", String(64), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    _created_at(),
    UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_id_code_hash"),
)

sms_phones = Table(
    "sms_phones",
    metadata,
    _user_id(primary_key=True),
    Column("phone", String(16), nullable=False),  # E.164
    Column("confirmed_at", DateTime(timezone=True)),  # NULL until the first code came back
    _created_at(),
    CheckConstraint("phone ~ '^\\+[1-9][0-9]{6,14}$'", name="phone_e164"),
)

sms_codes = Table(
    "sms_codes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    # `enrol` confirms a new phone; `verify` is a second factor (login, sensitive actions).
    Column("purpose", String(8), nullable=False),
    Column("phone", String(16), nullable=False),
    Column("code_hash", Text, nullable=False),  # argon2id: a 6-digit code is easy to guess
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", DateTime(timezone=True)),
    _created_at(),
    CheckConstraint("purpose IN ('enrol','verify')", name="purpose"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    Index("ix_sms_codes_user_id_created_at", "user_id", "created_at"),
)

user_security = Table(
    "user_security",
    metadata,
    _user_id(primary_key=True),
    # Set for 24 h after a password or 2FA change; the wallet refuses withdrawals until then.
    Column("withdrawals_locked_until", DateTime(timezone=True)),
    # Wrong second factors in a row; past the limit, 2FA is refused until blocked_until.
    Column("second_factor_failures", Integer, nullable=False, server_default="0"),
    Column("second_factor_blocked_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
