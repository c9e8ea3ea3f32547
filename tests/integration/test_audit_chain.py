"""The audit log: one unbroken chain under concurrent appends, an app role that cannot rewrite it,
and verification (function and CLI) that finds a tampered, deleted or wholesale-rewritten record."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.audit import record_audit
from backend.db.audit_chain import ChainBroken, export_anchor, verify_chain
from backend.db.engine import libpq_url, make_engine
from backend.db.roles import service_database_url
from backend.request_context import RequestContext, current_request
from backend.security.audit_anchors import FileAnchorSink, anchor_sink
from backend.security.audit_hash import GENESIS_HASH, AuditFields, record_hash
from backend.settings import Settings
from tests.servers import ServerPair, unique_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def chain_db(
    servers: ServerPair, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    """A database of its own per test (these tests break the chain on purpose)."""
    name = unique_name("exchange_audit")
    url = await asyncio.to_thread(servers.create_database, name)
    own = replace(settings, database_url=url, audit_anchor_dir=tmp_path / "anchors")
    engine = make_engine(own, pool_size=10)
    try:
        yield own, engine
    finally:
        await engine.dispose()
        servers.drop_database(name)


async def _append(engine: AsyncEngine, n: int, *, actor: str = "admin") -> None:
    token = current_request.set(RequestContext(request_id=f"req-{n}", ip="203.0.113.7"))
    try:
        async with engine.begin() as conn:
            await record_audit(
                conn,
                "test.action",
                f"thing:{n}",
                reason=f"because {n} ({actor})",
                before={"n": n, "label": "före"},
                after={"n": n + 1, "amount": "1.50"},
            )
    finally:
        current_request.reset(token)


def _owner(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_url(settings.database_url), autocommit=True)


def _rehash_from(conn: psycopg.Connection[tuple[object, ...]], start: int) -> None:
    """What an attacker with the owner's rights does to hide a change: recompute every hash from
    `start` on, and the head."""
    rows = conn.execute(
        "SELECT id, prev_hash, occurred_at, actor_id, action, target, reason, before, after, ip,"
        " request_id FROM audit_log ORDER BY id"
    ).fetchall()
    prev = GENESIS_HASH
    for row in rows:
        rid = int(row[0])  # type: ignore[call-overload]
        if rid >= start:
            digest = record_hash(AuditFields(rid, prev, *row[2:]))  # type: ignore[arg-type]
            conn.execute(
                "UPDATE audit_log SET prev_hash = %s, hash = %s WHERE id = %s", (prev, digest, rid)
            )
        prev = str(conn.execute("SELECT hash FROM audit_log WHERE id = %s", (rid,)).fetchone()[0])  # type: ignore[index]
    conn.execute("UPDATE audit_chain_head SET last_hash = %s", (prev,))


def _cli_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "EXCHANGE_AUDIT_ANCHOR_DIR": str(settings.audit_anchor_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "audit", "verify"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_services_connect_as_the_app_role(engine: AsyncEngine, settings: Settings) -> None:
    # when
    async with engine.connect() as conn:
        user = (await conn.execute(text("SELECT current_user"))).scalar_one()
        superuser = (
            await conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        ).scalar_one()
    # then
    assert user == settings.db_app_user == "exchange_app"
    assert superuser is False
    assert "exchange_app@" in service_database_url(settings)


async def test_app_role_may_insert_and_read_audit_rows_but_not_change_them(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given
    settings, engine = chain_db
    await _append(engine, 1)
    app = psycopg.connect(libpq_url(service_database_url(settings)), autocommit=True)
    statements = [
        "UPDATE audit_log SET reason = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "DELETE FROM audit_chain_head",
        "INSERT INTO audit_chain_head (singleton, last_id, last_hash) VALUES (false, 0, 'x')",
        "TRUNCATE audit_chain_head",
    ]
    # when / then
    with app:
        for statement in statements:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
        app.execute(
            "INSERT INTO audit_log (id, action, target, prev_hash, hash)"
            " VALUES (2, 'raw', 'x', 'p', 'h')"
        )
        assert app.execute("SELECT count(*) FROM audit_log").fetchone() == (2,)
    report = await verify_chain(engine)
    assert report.ok is False  # a raw insert is not a link of the chain
    assert report.first_broken_id == 2


async def test_concurrent_appends_from_many_connections_leave_one_chain(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given
    _, engine = chain_db

    async def writer(w: int) -> None:
        for i in range(15):
            await _append(engine, w * 100 + i)
            if i % 5 == 0:  # a rolled-back append leaves no gap
                with pytest.raises(RuntimeError):
                    async with engine.begin() as conn:
                        await record_audit(conn, "test.rolled_back", "x")
                        raise RuntimeError("abort")

    # when
    await asyncio.gather(*(writer(w) for w in range(8)))
    # then
    report = await verify_chain(engine)
    assert (report.ok, report.checked, report.reason) == (True, 120, None)
    async with engine.connect() as conn:
        ids = (await conn.execute(text("SELECT array_agg(id ORDER BY id) FROM audit_log"))).scalar()
    assert ids == list(range(1, 121))


async def test_a_tampered_row_is_the_first_broken_link(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given
    settings, engine = chain_db
    for n in range(5):
        await _append(engine, n)
    assert _cli_verify(settings).returncode == 0
    # when: a superuser changes record 3
    with _owner(settings) as owner:
        owner.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3")
    # then
    report = await verify_chain(engine)
    assert (report.ok, report.first_broken_id, report.checked) == (False, 3, 2)
    assert report.reason == "row 3: stored hash does not match its contents"
    cli = _cli_verify(settings)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "BROKEN at row 3: row 3: stored hash does not match its contents" in cli.stdout


async def test_a_changed_and_rehashed_row_breaks_the_next_link(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given
    settings, engine = chain_db
    for n in range(5):
        await _append(engine, n)
    # when
    with _owner(settings) as owner:
        owner.execute("UPDATE audit_log SET reason = 'changed' WHERE id = 2")
        row = owner.execute(
            "SELECT id, prev_hash, occurred_at, actor_id, action, target, reason, before, after,"
            " ip, request_id FROM audit_log WHERE id = 2"
        ).fetchone()
        assert row is not None
        owner.execute(
            "UPDATE audit_log SET hash = %s WHERE id = 2",
            (record_hash(AuditFields(*row)),),  # type: ignore[arg-type]
        )
    # then
    report = await verify_chain(engine)
    assert (report.ok, report.first_broken_id) == (False, 3)
    assert report.reason is not None and "prev_hash is not the hash of row 2" in report.reason


async def test_deleted_rows_are_detected(chain_db: tuple[Settings, AsyncEngine]) -> None:
    # given
    settings, engine = chain_db
    for n in range(6):
        await _append(engine, n)
    # when: one row from the middle, then the last one
    with _owner(settings) as owner:
        owner.execute("DELETE FROM audit_log WHERE id = 4")
    middle = await verify_chain(engine)
    with _owner(settings) as owner:
        owner.execute("DELETE FROM audit_log WHERE id >= 4")
    tail = await verify_chain(engine)
    # then
    assert (middle.ok, middle.first_broken_id) == (False, 4)
    assert middle.reason == "row 4 missing: row 5 follows row 3"
    assert (tail.ok, tail.first_broken_id) == (False, 4)
    assert tail.reason == "the chain head names row 6 but the table ends at row 3"


async def test_a_rewrite_of_the_whole_table_is_caught_by_the_anchors(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given: anchors exported at row 3 and at row 6
    settings, engine = chain_db
    sink = anchor_sink(settings, engine.url.database or "")
    for n in range(3):
        await _append(engine, n)
    assert (await export_anchor(engine, sink)) is not None
    assert (await export_anchor(engine, sink)) is None  # the head did not move
    for n in range(3, 6):
        await _append(engine, n)
    assert (await export_anchor(engine, sink)) is not None
    assert [a.id for a in sink.anchors()] == [3, 6]
    # when: record 5 is changed and every hash recomputed, head included
    with _owner(settings) as owner:
        owner.execute("UPDATE audit_log SET reason = 'history, improved' WHERE id = 5")
        _rehash_from(owner, 5)
    # then: the chain alone looks fine; the anchors do not
    assert (await verify_chain(engine)).ok is True
    report = await verify_chain(engine, sink.anchors())
    assert (report.ok, report.first_broken_id, report.anchors_checked) == (False, 4, 2)
    assert report.reason is not None and "rows 4-6 were rewritten" in report.reason
    cli = _cli_verify(settings)
    assert cli.returncode == 1 and "BROKEN at row 4" in cli.stdout, cli.stdout + cli.stderr
    with pytest.raises(ChainBroken):
        await export_anchor(engine, sink)  # a broken chain is never anchored


async def test_a_removed_tail_is_caught_by_the_anchors(
    chain_db: tuple[Settings, AsyncEngine],
) -> None:
    # given
    settings, engine = chain_db
    sink = FileAnchorSink(Path(str(settings.audit_anchor_dir)) / "x.jsonl")
    for n in range(4):
        await _append(engine, n)
    await export_anchor(engine, sink)
    # when: the last two rows go and the head is set back to match
    with _owner(settings) as owner:
        owner.execute("DELETE FROM audit_log WHERE id > 2")
        owner.execute(
            "UPDATE audit_chain_head SET last_id = 2,"
            " last_hash = (SELECT hash FROM audit_log WHERE id = 2)"
        )
    # then
    assert (await verify_chain(engine)).ok is True
    report = await verify_chain(engine, sink.anchors())
    assert (report.ok, report.first_broken_id) == (False, 3)
    assert report.reason is not None and "names row 4: rows were removed" in report.reason
