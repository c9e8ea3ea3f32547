"""API keys for bots: hashed ids, sealed secrets, scopes, IP allowlists."""

from __future__ import annotations

from backend.db.tables import metadata  # noqa: F401  (tables of this area join the one metadata)
