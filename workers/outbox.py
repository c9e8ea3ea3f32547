"""The email outbox drain, run by `exchange worker` in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import logging
import threading

from backend.db.engine import make_engine
from backend.notifications.outbox import drain_once
from backend.notifications.senders import sender_for
from backend.settings import Settings

log = logging.getLogger(__name__)


async def drain_outbox_until(settings: Settings, stop: threading.Event) -> None:
    engine = make_engine(settings, pool_size=1)
    sender = sender_for(settings)
    try:
        while not stop.is_set():
            try:
                await drain_once(engine, sender, settings.email_from, settings.outbox_max_attempts)
            except Exception:  # the database briefly away: keep polling, it will come back
                log.exception("outbox drain failed")
            await asyncio.to_thread(stop.wait, settings.outbox_poll_interval_seconds)
    finally:
        await engine.dispose()


def start_outbox_thread(settings: Settings, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(drain_outbox_until(settings, stop)),
        name="outbox-drain",
        daemon=True,
    )
    thread.start()
    return thread
