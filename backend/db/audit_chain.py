"""Verifying the audit chain, and exporting its head as an anchor.

`ChainChecker` walks records in id order and stops at the first broken link: a missing id (a
deleted row), a `prev_hash` that is not the previous record's hash, a stored hash that does not
match the record's contents, or a record whose hash differs from an exported anchor (a rewrite of
the whole table that recomputed every hash). At the end it compares the chain head row and the
anchors beyond the last record (a removed tail).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.tables import audit_chain_head, audit_log
from backend.security.audit_anchors import Anchor, AnchorSink, new_anchor
from backend.security.audit_hash import GENESIS_HASH, AuditFields, record_hash

BATCH = 1_000


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int  # records whose hash and link were checked
    first_broken_id: int | None
    reason: str | None
    anchors_checked: int
    last_id: int  # the last record checked (0: none)
    last_hash: str


class ChainChecker:
    """Feed records in id order; stops (returns False) at the first broken link."""

    def __init__(
        self, anchors: Sequence[Anchor] = (), *, after_id: int = 0, after_hash: str = GENESIS_HASH
    ) -> None:
        self.anchors = {a.id: a for a in anchors}
        self.anchors_checked = 0
        self.last_good_anchor = after_id
        self.prev_id = after_id
        self.prev_hash = after_hash
        self.checked = 0
        self.broken: tuple[int, str] | None = None

    def feed(self, row: Any) -> bool:
        if self.broken is not None:
            return False
        expected = self.prev_id + 1
        if row.id != expected:
            missing = (
                f"row {expected}" if row.id == expected + 1 else f"rows {expected}-{row.id - 1}"
            )
            return self._break(
                expected, f"{missing} missing: row {row.id} follows row {self.prev_id}"
            )
        if row.prev_hash != self.prev_hash:
            return self._break(
                row.id,
                f"row {row.id}: prev_hash is not the hash of row {self.prev_id}"
                f" (row {self.prev_id} was changed and rehashed, or row {row.id} was)",
            )
        if record_hash(fields_of(row)) != row.hash:
            return self._break(row.id, f"row {row.id}: stored hash does not match its contents")
        anchor = self.anchors.get(row.id)
        if anchor is not None:
            self.anchors_checked += 1
            if anchor.hash != row.hash:
                return self._break(
                    self.last_good_anchor + 1,
                    f"row {row.id}: hash differs from the anchor exported at {anchor.at}; rows"
                    f" {self.last_good_anchor + 1}-{row.id} were rewritten",
                )
            self.last_good_anchor = row.id
        self.prev_id, self.prev_hash = row.id, row.hash
        self.checked += 1
        return True

    def finish(self, head_id: int, head_hash: str) -> ChainReport:
        if self.broken is None:
            self._check_end(head_id, head_hash)
        broken_id, reason = self.broken if self.broken else (None, None)
        return ChainReport(
            ok=self.broken is None,
            checked=self.checked,
            first_broken_id=broken_id,
            reason=reason,
            anchors_checked=self.anchors_checked,
            last_id=self.prev_id,
            last_hash=self.prev_hash,
        )

    def _check_end(self, head_id: int, head_hash: str) -> None:
        last = self.prev_id
        beyond = [a for a in self.anchors.values() if a.id > last]
        if beyond:
            first = min(beyond, key=lambda a: a.id)
            self._break(
                last + 1,
                f"the chain ends at row {last} but the anchor exported at {first.at} names row"
                f" {first.id}: rows were removed",
            )
        elif head_id > last:
            self._break(
                last + 1, f"the chain head names row {head_id} but the table ends at row {last}"
            )
        elif head_id < last:
            self._break(
                head_id + 1, f"rows {head_id + 1}-{last} are beyond the chain head (row {head_id})"
            )
        elif head_hash != self.prev_hash:
            self._break(last, f"the chain head's hash is not the hash of row {last}")

    def _break(self, row_id: int, reason: str) -> bool:
        self.broken = (row_id, reason)
        return False


def fields_of(row: Any) -> AuditFields:
    return AuditFields(
        id=row.id,
        prev_hash=row.prev_hash,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        action=row.action,
        target=row.target,
        reason=row.reason,
        before=row.before,
        after=row.after,
        ip=row.ip,
        request_id=row.request_id,
    )


async def _rows_after(conn: AsyncConnection, after_id: int) -> AsyncIterator[Any]:
    while True:
        rows = (
            await conn.execute(
                select(audit_log)
                .where(audit_log.c.id > after_id)
                .order_by(audit_log.c.id)
                .limit(BATCH)
            )
        ).all()
        for row in rows:
            yield row
        if len(rows) < BATCH:
            return
        after_id = rows[-1].id


async def _snapshot(engine: AsyncEngine) -> AsyncConnection:
    """A read-only REPEATABLE READ transaction: the head and every row from one snapshot."""
    conn = await engine.connect()
    await conn.execution_options(isolation_level="REPEATABLE READ")
    await conn.begin()
    await conn.execute(text("SET TRANSACTION READ ONLY"))
    return conn


async def _head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(select(audit_chain_head))).first()
    if row is None:
        return -1, ""  # the head row is gone: reported as a broken end
    return int(row.last_id), str(row.last_hash)


async def database_name(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(text("SELECT current_database()"))).scalar_one())


async def verify_chain(engine: AsyncEngine, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Check every record from the first, the chain head and the given anchors."""
    conn = await _snapshot(engine)
    try:
        checker = ChainChecker(anchors)
        async for row in _rows_after(conn, 0):
            if not checker.feed(row):
                break
        head_id, head_hash = await _head(conn)
        return checker.finish(head_id, head_hash)
    finally:
        await conn.rollback()
        await conn.close()


async def export_anchor(engine: AsyncEngine, sink: AnchorSink) -> Anchor | None:
    """Publish the chain's head if it moved since the last anchor, after checking the records
    added since then link to that anchor (so a broken chain is never anchored).

    Returns the new anchor, None when the head did not move; raises ChainBroken."""
    anchors = sink.anchors()
    last = anchors[-1] if anchors else None
    conn = await _snapshot(engine)
    try:
        if last is None:
            checker = ChainChecker()
        else:
            anchored = (
                await conn.execute(select(audit_log.c.hash).where(audit_log.c.id == last.id))
            ).scalar_one_or_none()
            if anchored != last.hash:
                raise ChainBroken(
                    last.id, f"row {last.id} no longer has the hash anchored at {last.at}"
                )
            checker = ChainChecker(after_id=last.id, after_hash=last.hash)
        async for row in _rows_after(conn, checker.prev_id):
            if not checker.feed(row):
                break
        report = checker.finish(*await _head(conn))
    finally:
        await conn.rollback()
        await conn.close()
    if not report.ok:
        raise ChainBroken(report.first_broken_id or 0, report.reason or "")
    if report.last_id == 0 or (last is not None and report.last_id == last.id):
        return None
    anchor = new_anchor(report.last_id, report.last_hash)
    sink.publish(anchor)
    return anchor


class ChainBroken(Exception):
    def __init__(self, row_id: int, reason: str) -> None:
        super().__init__(f"audit chain broken at row {row_id}: {reason}")
        self.row_id = row_id
        self.reason = reason
