"""`exchange`: one command for every component (`up` runs them all on the embedded default)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

from backend.observability import configure_logging
from backend.settings import Settings

log = logging.getLogger("exchange")


def _resolve(settings: Settings) -> tuple[Settings, object | None]:
    """Use DATABASE_URL / REDIS_URL when set, else start the embedded servers."""
    if settings.database_url and settings.redis_url:
        return settings, None
    from backend.embedded import start_embedded

    servers = start_embedded(settings.data_dir)
    return settings.with_urls(
        settings.database_url or servers.database_url, settings.redis_url or servers.redis_url
    ), servers


async def _prepare(settings: Settings, seed: bool) -> None:
    """Runs once before the components start: bootstrap admin and demo data."""
    from backend.db.engine import make_engine
    from backend.seed import seed_demo
    from commands.accounts.ensure_admin import EnsureAdmin
    from commands.bus import CommandBus

    engine = make_engine(settings, pool_size=1)
    try:
        bus = CommandBus(engine)
        if seed:
            await seed_demo(bus)
        if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
            await bus.execute(
                EnsureAdmin(settings.bootstrap_admin_email, settings.bootstrap_admin_password)
            )
    finally:
        await engine.dispose()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db.migrations import upgrade

    settings, servers = _resolve(settings)
    upgrade(settings.database_url, args.revision, app_role=settings.db_app_user)
    if args.seed:
        asyncio.run(_prepare(settings, seed=True))
    if servers is not None:
        servers.stop()  # type: ignore[attr-defined]
    print(f"migrated to {args.revision}")
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.run import run_worker

    run_worker(settings, threads=args.threads)
    return 0


def cmd_matcher(settings: Settings, args: argparse.Namespace) -> int:
    from backend.matching.run import run_matchers

    markets = args.markets.split(",") if args.markets else None
    asyncio.run(run_matchers(settings, markets))
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Every component as its own process, on the embedded servers unless URLs are given."""
    from backend.db.migrations import upgrade

    embedded = not (settings.database_url and settings.redis_url)
    settings, servers = _resolve(settings)
    upgrade(settings.database_url, app_role=settings.db_app_user)
    asyncio.run(_prepare(settings, seed=embedded and settings.seed_demo_markets))
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "EXCHANGE_PORT": str(settings.port),
        "EXCHANGE_HOST": settings.host,
    }
    exe = [sys.executable, "-m", "backend.cli"]
    children = [
        subprocess.Popen([*exe, "api"], env=env),  # noqa: S603 - our own interpreter and module
        subprocess.Popen([*exe, "worker"], env=env),  # noqa: S603
        subprocess.Popen([*exe, "matcher"], env=env),  # noqa: S603
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"exchange up: GraphQL and GraphiQL at http://{settings.host}:{settings.port}/graphql",
        flush=True,
    )
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]
    failed = [c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM)]
    return 1 if failed and not stopping else 0


async def _verify_audit(settings: Settings) -> int:
    from backend.db.audit_chain import database_name, verify_chain
    from backend.db.engine import make_engine
    from backend.security.audit_anchors import anchor_sink

    engine = make_engine(settings, pool_size=1)
    try:
        sink = anchor_sink(settings, await database_name(engine))
        report = await verify_chain(engine, sink.anchors())
    finally:
        await engine.dispose()
    if report.ok:
        print(
            f"audit chain ok: {report.checked} records, {report.anchors_checked} anchors"
            f" checked ({sink})"
        )
        return 0
    print(
        f"audit chain BROKEN at row {report.first_broken_id}: {report.reason}"
        f" ({report.checked} records checked before it)"
    )
    return 1


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    """`exchange audit verify`: exit 1 at the first broken link. `exchange audit anchor`: export
    the head now (the worker does it every EXCHANGE_AUDIT_ANCHOR_INTERVAL seconds)."""
    settings, servers = _resolve(settings)
    try:
        if args.action == "verify":
            return asyncio.run(_verify_audit(settings))
        from backend.db.audit_chain import ChainBroken
        from workers.audit_anchors import export_once

        try:
            anchor = export_once(settings)
        except ChainBroken as broken:
            print(f"not exported: {broken}")
            return 1
        print(f"anchored row {anchor.id}" if anchor else "the head has not moved; nothing to do")
        return 0
    finally:
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]


async def _rotate_keys(settings: Settings) -> int:
    from backend.db.engine import make_engine
    from backend.security.envelope import envelope_for
    from backend.security.key_rotation import remaining, rotate

    engine = make_engine(settings, pool_size=1)
    envelope = envelope_for(settings)
    try:
        done = await rotate(engine, envelope)
        left = await remaining(engine, envelope)
    finally:
        await engine.dispose()
    current = envelope.provider.current_key_id
    print(f"re-wrapped under master key {current!r}: {done}; {left} sealed values left")
    return 0 if left == 0 else 1


def cmd_rotate_keys(settings: Settings, args: argparse.Namespace) -> int:
    """`exchange rotate-keys`: re-wrap every sealed secret under the current master key."""
    settings, servers = _resolve(settings)
    try:
        return asyncio.run(_rotate_keys(settings))
    finally:
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exchange", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run every component (embedded PostgreSQL and Redis by default)")
    sub.add_parser("api", help="serve GraphQL on EXCHANGE_HOST:EXCHANGE_PORT")
    worker = sub.add_parser("worker", help="run projections (dramatiq on Redis)")
    worker.add_argument("--threads", type=int, default=2)
    matcher = sub.add_parser("matcher", help="run the single-writer matcher of each market")
    matcher.add_argument("--markets", default="", help="comma-separated symbols (default: all)")
    migrate = sub.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--seed", action="store_true", help="also create the demo assets/markets")
    audit = sub.add_parser("audit", help="verify the audit log's hash chain or anchor its head")
    audit.add_argument("action", choices=["verify", "anchor"])
    sub.add_parser("rotate-keys", help="re-wrap sealed secrets under the current master key")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("EXCHANGE_LOG_LEVEL", "INFO"))
    settings = Settings.from_env()
    handlers = {
        "up": cmd_up,
        "api": cmd_api,
        "worker": cmd_worker,
        "matcher": cmd_matcher,
        "migrate": cmd_migrate,
        "audit": cmd_audit,
        "rotate-keys": cmd_rotate_keys,
    }
    return handlers[args.command](replace(settings), args)


if __name__ == "__main__":
    sys.exit(main())
