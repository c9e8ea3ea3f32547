"""The ASGI application: GraphQL over HTTP and WebSocket, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.http_hardening import hardening_middleware
from backend.api.request_guard import RequestGuard
from backend.api.schema import build_schema
from backend.api.view import ExchangeGraphQL
from backend.db.engine import check_pool_fits, make_engine
from backend.observability import HTTP_LATENCY, HTTP_REQUESTS, request_id_var
from backend.order_waiter import OrderWaiter
from backend.pubsub import Hub
from backend.security.rate_limit import RateLimiter
from backend.services import Services
from backend.settings import Settings
from commands.accounts.ensure_admin import EnsureAdmin
from commands.bus import CommandBus
from workers.broker import make_broker, nudge_projections
from workers.nudger import CoalescingNudger

log = logging.getLogger(__name__)
# Pooled connections used within this long are not pinged before use (backend.db.engine).
PING_AFTER_IDLE_SECONDS = 1.0


class RequestIdMiddleware:
    """Gives each HTTP request an id (or keeps the caller's X-Request-Id), logs and measures it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if scope["type"] == "http":
                path = scope["path"] if scope["path"] in _KNOWN_PATHS else "other"
                HTTP_REQUESTS.labels(path, str(status)).inc()
                HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)


_KNOWN_PATHS = {"/graphql", "/healthz", "/readyz", "/metrics"}


async def build_services(settings: Settings) -> Services:
    engine = make_engine(settings, ping_after_idle_seconds=PING_AFTER_IDLE_SECONDS)
    redis = aioredis.from_url(settings.redis_url)
    broker = make_broker(settings.redis_url, settings.queue_namespace)

    nudger = CoalescingNudger(
        lambda: nudge_projections(broker), settings.projection_nudge_interval_seconds
    )
    nudger.start()

    async def after_commit() -> None:
        nudger.request()

    bus = CommandBus(
        engine, after_commit=after_commit, max_concurrent=settings.max_concurrent_commands
    )
    hub = Hub(redis)
    waiter = OrderWaiter(hub)
    await waiter.start()
    limiter = RateLimiter.connect(settings.redis_url, settings.queue_namespace)
    return Services(
        settings, engine, redis, broker, bus, hub, waiter, nudger, rate_limiter=limiter
    )


async def close_services(services: Services) -> None:
    await services.nudger.close()
    await services.order_waiter.close()
    await services.hub.close()
    await services.redis.aclose()
    if services.rate_limiter is not None:
        await services.rate_limiter.aclose()
    services.broker.close()
    await services.engine.dispose()


class _Deferred:
    """An ASGI app set once the lifespan has built the services it needs."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("GraphQL app used before start-up")
        await self.app(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    holder: dict[str, Services] = {}

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        services = holder["services"]
        checks: dict[str, str] = {}
        try:
            async with services.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(services.redis.ping(), 2)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    graphql_endpoint = _Deferred()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await build_services(settings)
        await check_pool_fits(services.engine, settings)
        holder["services"] = services
        if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
            await services.bus.execute(
                EnsureAdmin(settings.bootstrap_admin_email, settings.bootstrap_admin_password)
            )
        graphql = ExchangeGraphQL(
            services,
            schema=build_schema(
                introspection=settings.introspection, max_query_cost=settings.max_query_cost
            ),
            graphql_ide="graphiql" if settings.graphiql else None,
            keep_alive=True,
            keep_alive_interval=15,
        )
        # Rate limits, body size and authentication before GraphQL (backend.api.request_guard).
        graphql_endpoint.app = RequestGuard(graphql, services)
        try:
            yield
        finally:
            await graphql.session_watch.close()
            await close_services(services)

    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
        middleware=hardening_middleware(settings),
    )
    app.add_middleware(RequestIdMiddleware)
    return app
