"""Login protection: failed-attempt counters, known devices, the notification outbox."""

from __future__ import annotations

from backend.db.tables import metadata  # noqa: F401  (tables of this area join the one metadata)
