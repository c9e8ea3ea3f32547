"""What every GraphQL HTTP request passes before GraphQL sees it, cheapest check first:
the IP's request budget, the body size, authentication (bearer session or signed API key), then
the user's and the API key's budgets. Refusals are GraphQL-shaped JSON bodies with
`extensions.code` (RATE_LIMITED with Retry-After, UNAUTHENTICATED, FORBIDDEN, PAYLOAD_TOO_LARGE,
and SERVICE_UNAVAILABLE with Retry-After while the database cannot be reached to authenticate).
Rate limits fail open while Redis is away: trading goes on, and the database's own limits (open
orders, the matcher's backlog) still hold; the login lockout, which guards secrets, fails closed.

WebSockets pass through: they authenticate in connection_init (backend.api.view).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.authentication import AuthenticationFailed, Principal, authenticate
from backend.api.masking import is_outage
from backend.security.rate_limit import Bucket, RateLimited
from backend.services import Services

log = logging.getLogger(__name__)
MINUTE_MS = 60_000
STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}


class PayloadTooLarge(Exception):
    pass


def error_body(message: str, code: str, **extensions: Any) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )


async def respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope.get("headers") or ():
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes) -> Receive:
    """A `receive` that hands the already-read body to the app, then waits like the real one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class RequestGuard:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.services.settings
        request = Request(scope)
        ip = request.client.host if request.client else "unknown"
        try:
            await self._take([self._bucket("ip", ip, settings.rate_limit_ip_per_minute)])
            body = await read_body(scope, receive, settings.max_request_bytes)
            principal = await authenticate(request, body, self.services)
            await self._take(self._principal_buckets(principal))
        except RateLimited as exc:
            await respond(
                send,
                429,
                error_body(
                    exc.message,
                    "RATE_LIMITED",
                    limit=exc.bucket,
                    retryAfter=exc.retry_after_seconds,
                ),
                [(b"retry-after", str(exc.retry_after_seconds).encode())],
            )
            return
        except PayloadTooLarge:
            message = f"request body larger than {settings.max_request_bytes} bytes"
            await respond(send, 413, error_body(message, "PAYLOAD_TOO_LARGE"))
            return
        except AuthenticationFailed as exc:
            await respond(send, STATUS[exc.code], error_body(exc.message, exc.code))
            return
        except Exception as exc:
            if not is_outage(exc):
                raise
            message = "the service is temporarily unavailable; nothing was changed. Retry shortly."
            await respond(
                send, 503, error_body(message, "SERVICE_UNAVAILABLE"), [(b"retry-after", b"1")]
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, replaying(body), send)

    def _bucket(self, name: str, who: object, per_minute: int) -> Bucket:
        limiter = self.services.rate_limiter
        key = limiter.key(name, who) if limiter is not None else f"{name}:{who}"
        return Bucket(name, key, per_minute, MINUTE_MS)

    def _principal_buckets(self, principal: Principal) -> list[Bucket]:
        settings = self.services.settings
        key = principal.api_key
        # A market-maker key lifts its own budget and, for its requests, its owner's.
        tier = settings.rate_limit_market_maker_factor if key and key.market_maker else 1
        buckets = []
        if principal.user is not None:
            per_user = settings.rate_limit_user_per_minute * tier
            buckets.append(self._bucket("user", principal.user.user.id, per_user))
        if key is not None:
            per_key = settings.rate_limit_api_key_per_minute * tier
            buckets.append(self._bucket("api_key", key.id, per_key))
        return buckets

    async def _take(self, buckets: list[Bucket]) -> None:
        limiter = self.services.rate_limiter
        if limiter is not None and self.services.settings.rate_limits_enabled and buckets:
            try:
                await limiter.take(buckets)
            except RateLimited:
                raise
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("rate limiter unavailable; letting the request through")
