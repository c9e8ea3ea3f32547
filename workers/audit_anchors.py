"""The worker's periodic export of the audit chain's head to the anchor sink."""

from __future__ import annotations

import asyncio
import logging
import threading

from backend.db.audit_chain import ChainBroken, database_name, export_anchor
from backend.db.engine import make_engine
from backend.security.audit_anchors import Anchor, anchor_sink
from backend.settings import Settings

log = logging.getLogger(__name__)


def export_once(settings: Settings) -> Anchor | None:
    """One export (a new anchor, or None when the head has not moved)."""

    async def run() -> Anchor | None:
        engine = make_engine(settings, pool_size=1)
        try:
            sink = anchor_sink(settings, await database_name(engine))
            return await export_anchor(engine, sink)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def run_anchor_exports(settings: Settings, stop: threading.Event) -> threading.Thread:
    """Export at start and then every `audit_anchor_interval_seconds`, on a thread of its own so
    the projection sweep never waits for it."""

    def loop() -> None:
        while True:
            try:
                anchor = export_once(settings)
                if anchor is not None:
                    log.info("audit anchor exported", extra={"id": anchor.id})
            except ChainBroken as broken:
                # Never anchor a broken chain; operators run `exchange audit verify`.
                log.error(
                    "audit chain broken, not exported",
                    extra={"row": broken.row_id, "reason": broken.reason},
                )
            except Exception:  # the database briefly away: try again next time
                log.exception("audit anchor export failed")
            if stop.wait(settings.audit_anchor_interval_seconds):
                return

    thread = threading.Thread(target=loop, name="audit-anchors", daemon=True)
    thread.start()
    return thread
