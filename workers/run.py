"""`exchange worker`: a dramatiq worker in this process plus a sweeper that re-nudges projections,
so a lost message never leaves a read model behind for longer than the sweep interval."""

from __future__ import annotations

import logging
import signal
import threading

import dramatiq

from backend.settings import Settings
from workers.audit_anchors import run_anchor_exports
from workers.broker import make_broker, nudge_projections
from workers.outbox import start_outbox_thread
from workers.projections import WorkerResources, declare_projection_actor

log = logging.getLogger(__name__)


def run_worker(settings: Settings, threads: int = 2) -> None:
    broker = make_broker(settings.redis_url, settings.queue_namespace)
    resources = WorkerResources(settings)
    declare_projection_actor(broker, resources)
    # worker_timeout bounds the idle poll interval, i.e. the worst-case pickup latency.
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=20)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    outbox = start_outbox_thread(settings, stop)
    anchors = run_anchor_exports(settings, stop)
    log.info("worker started", extra={"threads": threads})
    try:
        while not stop.wait(settings.sweep_interval_seconds):
            try:
                nudge_projections(broker)
            except Exception:  # Redis briefly away: keep sweeping, it will come back
                log.exception("sweep failed")
    finally:
        outbox.join(timeout=10)
        anchors.join(5)
        worker.stop()
        broker.close()
