"""Two-factor authentication: TOTP enrolments, recovery codes, SMS codes, step-up proofs."""

from __future__ import annotations

from backend.db.tables import metadata  # noqa: F401  (tables of this area join the one metadata)
