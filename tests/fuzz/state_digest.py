"""A digest of every write-store table, to prove that a rejected request changed nothing.

The tables come from `backend/db/tables.py`, so a table added there is digested without editing
this file. Left out: the `*_view` read models and `projection_checkpoints`, which the worker
updates asynchronously from the event log (they derive from the digested tables anyway).

All figures are read in ONE statement, so they come from one snapshot. Synchronous psycopg: the
fuzz tests drive the server over HTTP from a plain (non-async) Hypothesis test.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import psycopg
from sqlalchemy import Table

from backend.db.engine import libpq_url
from backend.db.tables import metadata
from backend.matching.inputs import INPUT_TYPES

ASYNC_TABLES = frozenset({"projection_checkpoints", "session_activity", "email_outbox"})
"""Write-side tables that change without a state-changing request: the projection runner's
checkpoints, a session's throttled last-seen time (touched by any authenticated request, queries
too) and the email outbox (drained by the worker)."""

EXPECTED_TABLES = frozenset(
    {
        "users",
        "sessions",
        "assets",
        "markets",
        "ledger_accounts",
        "transfers",
        "postings",
        "idempotency_keys",
        "orders",
        "fills",
        "market_state",
        "audit_log",
        "events",
    }
)
"""The write store as of writing; `write_store_tables()` checks none of these went missing."""

Digest = Mapping[str, str]
"""Table name -> "<row count>:<md5 of its rows in primary-key order>"."""


def write_store_tables() -> list[Table]:
    tables = [
        t
        for t in metadata.sorted_tables
        if not t.name.endswith("_view") and t.name not in ASYNC_TABLES
    ]
    missing = EXPECTED_TABLES - {t.name for t in tables}
    assert not missing, f"write-store tables no longer in backend/db/tables.py: {missing}"
    return sorted(tables, key=lambda t: t.name)


def _digest_sql(tables: list[Table]) -> str:
    parts = []
    for table in tables:
        order = ", ".join(f't."{c.name}"' for c in table.primary_key.columns)
        assert order, f"{table.name} has no primary key to order its rows by"
        parts.append(
            f"SELECT '{table.name}' AS name, count(*) AS rows,"
            f" md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) AS digest"
            f' FROM "{table.name}" t'
        )
    return " UNION ALL ".join(parts)


_DIGEST_SQL = _digest_sql(write_store_tables())

_BUSY_SQL = """
SELECT
  (SELECT count(*) FROM orders WHERE status = 'PENDING_NEW') AS pending_orders,
  (SELECT count(*) FROM markets m LEFT JOIN market_state s ON s.market = m.symbol
    WHERE coalesce(s.epoch, 0) = 0) AS markets_without_matcher,
  (SELECT count(*) FROM market_state s JOIN events e ON e.stream = 'market:' || s.market
    WHERE e.event_type = ANY(%(types)s)
      AND (e.xact_id, e.position) > (s.input_xact_id, s.input_position)) AS unread_inputs
"""


def connect(database_url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection: every statement sees the latest committed state."""
    return psycopg.connect(libpq_url(database_url), autocommit=True)


def state_digest(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, str]:
    rows = conn.execute(_DIGEST_SQL).fetchall()
    return {str(name): f"{count}:{digest}" for name, count, digest in rows}


def changed_tables(before: Digest, after: Digest) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def busy(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    """What the matcher still has to do (all zero when it is idle)."""
    row = conn.execute(_BUSY_SQL, {"types": list(INPUT_TYPES)}).fetchone()
    assert row is not None
    names = ("pending_orders", "markets_without_matcher", "unread_inputs")
    return {name: int(value) for name, value in zip(names, row, strict=True)}  # type: ignore[call-overload]


def wait_until_idle(conn: psycopg.Connection[tuple[object, ...]], timeout: float = 15) -> None:
    """Until no order is PENDING_NEW, every market has a leading matcher and every matcher has
    read all of its inputs (cancels and amends are answered before the matcher acts on them;
    a new market is picked up within a second). Nothing else writes the write store by itself:
    the worker only updates read models and their checkpoints, so no settling delay is needed."""
    deadline = time.monotonic() + timeout
    while True:
        state = busy(conn)
        if not any(state.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the matcher is not idle after {timeout}s: {state}")
        time.sleep(0.01)
