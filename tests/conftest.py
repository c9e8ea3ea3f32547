"""Shared fixtures: real PostgreSQL and Redis, a migrated database per session, the real server."""

from __future__ import annotations

import os

# Cheap password hashing for the thousands of test logins (set before backend modules load; the
# servers the tests start inherit it). Production keeps argon2-cffi's defaults.
os.environ.setdefault("EXCHANGE_ARGON2_TIME_COST", "1")
os.environ.setdefault("EXCHANGE_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("EXCHANGE_ARGON2_PARALLELISM", "1")
# A fixed master key for secrets at rest (tests of rotation add their own).
os.environ.setdefault("EXCHANGE_MASTER_KEYS", "test1:dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc=")
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.settings import Settings
from commands.bus import CommandBus
from tests.graphql_client import GraphQLClient
from tests.servers import ServerPair, free_port, start_test_servers, unique_name
from tests.smtp_sink import SmtpSink, start_smtp_sink

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "admin@exchange.test"
ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerPair]:
    servers = start_test_servers()
    yield servers
    if servers.embedded is not None:
        servers.embedded.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def database_url(servers: ServerPair) -> Iterator[str]:
    name = unique_name("exchange_test")
    url = servers.create_database(name)
    yield url
    servers.drop_database(name)


@pytest.fixture(scope="session")
def settings(
    database_url: str, servers: ServerPair, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return replace(
        Settings(),
        database_url=database_url,
        redis_url=servers.redis_url,
        queue_namespace=unique_name("exchange_test"),
        master_keys=os.environ["EXCHANGE_MASTER_KEYS"],
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
        audit_anchor_dir=tmp_path_factory.mktemp("audit-anchors"),
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings)
    _ENGINES.append(engine)
    yield engine
    await engine.dispose()


_ENGINES: list[AsyncEngine] = []


def engine_for_tests() -> AsyncEngine:
    """The session's engine for helpers that are not fixtures (set by the `engine` fixture)."""
    return _ENGINES[-1]


@pytest.fixture(scope="session")
def bus(engine: AsyncEngine) -> CommandBus:
    return CommandBus(engine)


def server_env(settings: Settings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "EXCHANGE_PORT": str(port),
        "EXCHANGE_QUEUE_NAMESPACE": settings.queue_namespace,
        "EXCHANGE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "EXCHANGE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "EXCHANGE_LOG_LEVEL": "WARNING",
        # Small limits so the tests can reach them.
        "EXCHANGE_MAX_OPEN_ORDERS": "20",
        "EXCHANGE_MAX_OPEN_STOP_ORDERS": "3",
        # A loaded 2-core machine can take longer than the default 2 s to match.
        "EXCHANGE_PLACE_ORDER_WAIT": "10",
        # Live WebSockets of a revoked session end within a second (default 5).
        "EXCHANGE_WS_SESSION_CHECK_SECONDS": "1",
        # The audit chain's anchors: the test session's own folder, exported every second.
        "EXCHANGE_AUDIT_ANCHOR_DIR": str(settings.audit_anchor_dir),
        "EXCHANGE_AUDIT_ANCHOR_INTERVAL": "1",
        # Rate limits stay on, far above what the suite sends from its one IP (the rate-limit
        # tests start their own server with small limits).
        "EXCHANGE_RATE_LIMIT_IP_PER_MINUTE": "10000000",
        "EXCHANGE_RATE_LIMIT_USER_PER_MINUTE": "10000000",
        "EXCHANGE_RATE_LIMIT_API_KEY_PER_MINUTE": "10000000",
        "EXCHANGE_RATE_LIMIT_ORDERS_PER_10S": "1000000",
    }


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """The SMTP server the test servers' worker delivers the email outbox to."""
    sink = start_smtp_sink(free_port())
    yield sink
    assert sink.controller is not None
    sink.controller.stop()


def smtp_env(sink: SmtpSink) -> dict[str, str]:
    return {
        "EXCHANGE_EMAIL_BACKEND": "smtp",
        "EXCHANGE_SMTP_HOST": "127.0.0.1",
        "EXCHANGE_SMTP_PORT": str(sink.port),
        "EXCHANGE_SMTP_SECURITY": "none",
        "EXCHANGE_OUTBOX_POLL_SECONDS": "0.2",
    }


@pytest.fixture(scope="session")
def server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, smtp_sink: SmtpSink
) -> Iterator[str]:
    """The real thing: `exchange api` under uvicorn and `exchange worker`, as subprocesses."""
    port = free_port()
    env = {**server_env(settings, port), **smtp_env(smtp_sink)}
    logs = tmp_path_factory.mktemp("server")
    exe = [sys.executable, "-m", "backend.cli"]
    names = ("api", "worker", "matcher")
    log_files = [(logs / f"{name}.log").open("w") for name in names]
    procs = [
        subprocess.Popen([*exe, name], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        for name, out in zip(names, log_files, strict=True)
    ]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            raise RuntimeError(
                "server did not start:\n"
                + "\n".join((logs / f"{n}.log").read_text()[-3000:] for n in names)
            )
        time.sleep(0.1)
    yield base
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    for f in log_files:
        f.close()


@pytest.fixture
async def client(server: str, engine: AsyncEngine) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        yield GraphQLClient(http)


async def register_and_login(
    client: GraphQLClient,
    email: str | None = None,
    password: str = "correct-horse-9",  # noqa: S107 - a test user's password
) -> tuple[str, str]:
    """A new user; returns (user id, token)."""
    email = email or f"{uuid.uuid4().hex[:12]}@example.com"
    data = await client.run("accounts/register", {"input": {"email": email, "password": password}})
    assert data["register"]["__typename"] == "RegisterSuccess", data
    login = await client.run("accounts/login", {"input": {"email": email, "password": password}})
    assert login["login"]["__typename"] == "Session", login
    return data["register"]["user"]["id"], login["login"]["token"]


@pytest.fixture
async def admin_token(client: GraphQLClient) -> str:
    login = await client.run(
        "accounts/login", {"input": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}}
    )
    assert login["login"]["__typename"] == "Session", login
    token: str = login["login"]["token"]
    return token


@pytest.fixture
async def user(client: GraphQLClient) -> tuple[str, str]:
    return await register_and_login(client)


async def fund(
    client: GraphQLClient, admin_token: str, user_id: str, asset: str, amount: str
) -> dict[str, Any]:
    data = await client.run(
        "admin/adjust_balance",
        {
            "input": {
                "userId": user_id,
                "asset": asset,
                "amount": amount,
                "reason": "test funding",
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
        token=admin_token,
    )
    result: dict[str, Any] = data["adminAdjustBalance"]
    return result


async def create_asset(client: GraphQLClient, admin_token: str, precision: int = 8) -> str:
    code = "T" + uuid.uuid4().hex[:8].upper()
    data = await client.run(
        "admin/create_asset", {"input": {"code": code, "precision": precision}}, token=admin_token
    )
    assert data["adminCreateAsset"]["__typename"] == "Asset", data
    return code


D = Decimal
