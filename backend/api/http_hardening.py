"""HTTP hardening around the whole app: security headers on every response, and CORS limited to
the configured origins (EXCHANGE_CORS_ORIGINS; none: browsers on other origins are refused)."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import Settings

# The API answers JSON only: nothing to load, nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# GraphiQL (when enabled) is an HTML page loading React and GraphiQL from unpkg, with an inline
# bootstrap script, talking to this origin over HTTP and WebSocket.
GRAPHIQL_CSP = (
    "default-src 'self'; "
    "script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; "
    "img-src 'self' data: https:; font-src 'self' data: https://unpkg.com; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SIGNING_HEADERS = ["x-api-key", "x-timestamp", "x-recv-window", "x-signature"]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0, graphiql: bool = False) -> None:
        self.app = app
        self.graphiql = graphiql
        self.fixed: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts_seconds > 0:
            value = f"max-age={hsts_seconds}; includeSubDomains".encode()
            self.fixed.append((b"strict-transport-security", value))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.fixed if n not in present]
                content_type = dict(headers).get(b"content-type", b"")
                html = content_type.startswith(b"text/html")
                csp = GRAPHIQL_CSP if html and self.graphiql else API_CSP
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def hardening_middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: headers go on every response, CORS answers preflights."""
    middleware = [
        Middleware(
            SecurityHeadersMiddleware,
            hsts_seconds=settings.hsts_seconds,
            graphiql=settings.graphiql,
        )
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id", *SIGNING_HEADERS],
                expose_headers=["retry-after", "x-request-id"],
                max_age=600,
            )
        )
    return middleware
