"""Who an HTTP request is: a bearer session, an API key with a valid signature, or nobody.

API-key requests are checked the Binance way (backend.security.request_signing), then against
the key's IP allowlist, then for replay: a signature is remembered in Redis for twice the receive
window (as long as its timestamp can be accepted at all), so the same signed request runs once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request

from backend.db.engine import autocommit
from backend.db.session_activity import needs_touch, touch_session
from backend.security import ip_allowlist
from backend.security.envelope import SealError, envelope_for
from backend.security.request_signing import (
    SignatureRejected,
    check_freshness,
    check_signature,
    parse_headers,
)
from backend.services import Services
from commands.api_keys.create_api_key import secret_context
from queries.accounts import get_session_user
from queries.api_keys import ApiKeyView, api_key_credentials
from queries.views import SessionUser

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Principal:
    user: SessionUser | None = None
    api_key: ApiKeyView | None = None


ANONYMOUS = Principal()


class AuthenticationFailed(Exception):
    """`code` is UNAUTHENTICATED (bad or stale credentials) or FORBIDDEN (not from here)."""

    def __init__(self, message: str, code: str = "UNAUTHENTICATED") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def bearer_token(value: str | None) -> str | None:
    if value and value.startswith("Bearer "):
        return value.removeprefix("Bearer ").strip() or None
    return None


async def authenticate(request: Request, body: bytes, services: Services) -> Principal:
    headers = request.headers
    api_key = headers.get("x-api-key")
    if api_key is not None:
        return await _api_key(request, body, services, api_key)
    token = bearer_token(headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    # An unknown or expired token is anonymous; fields that need a user answer UNAUTHENTICATED.
    client = request.client.host if request.client else None
    return Principal(user=await session_user(services, token, client))


async def session_user(services: Services, token: str, ip: str | None) -> SessionUser | None:
    """The session's user, its last-seen time refreshed (at most once per touch interval).
    Each statement commits on its own: a request costs one round trip here."""
    async with autocommit(services.engine) as conn:
        session = await get_session_user(conn, token)
        interval = services.settings.session_touch_interval_seconds
        if session is not None and needs_touch(session.last_seen_at, interval):
            await touch_session(conn, session.session_id, ip)
        return session


async def _api_key(request: Request, body: bytes, services: Services, api_key: str) -> Principal:
    if request.method != "POST":
        raise AuthenticationFailed("API-key requests must be POST (the body is what is signed)")
    headers = request.headers
    if headers.get("authorization"):
        raise AuthenticationFailed("send either X-API-Key or Authorization, not both")
    try:
        signed = parse_headers(
            api_key,
            headers.get("x-timestamp"),
            headers.get("x-recv-window"),
            headers.get("x-signature"),
        )
        check_freshness(signed, int(time.time() * 1000))
        try:
            key_id = uuid.UUID(api_key)
        except ValueError:
            raise SignatureRejected("unknown or revoked API key") from None
        async with services.engine.connect() as conn:
            credentials = await api_key_credentials(conn, key_id)
        if credentials is None:
            raise SignatureRejected("unknown or revoked API key")
        try:
            secret = envelope_for(services.settings).open(
                credentials.secret_sealed, secret_context(key_id)
            )
        except SealError:
            raise SignatureRejected("unknown or revoked API key") from None
        check_signature(secret.decode(), signed, body)
    except SignatureRejected as exc:
        raise AuthenticationFailed(exc.message) from None
    key = credentials.key
    client_ip = request.client.host if request.client else None
    if not ip_allowlist.allows(key.ip_allowlist, client_ip):
        raise AuthenticationFailed(f"this API key may not be used from {client_ip}", "FORBIDDEN")
    if credentials.owner.status == "locked":
        raise AuthenticationFailed("the account is locked", "FORBIDDEN")
    replay_key = f"{services.settings.queue_namespace}:apisig:{key_id}:{signed.signature}"
    redis = services.rate_limiter.redis if services.rate_limiter else services.redis
    first_use = await redis.set(replay_key, b"1", nx=True, px=2 * signed.recv_window_ms)
    if not first_use:
        raise AuthenticationFailed("this signed request was already used (replay)")
    return Principal(SessionUser(credentials.owner, key_id, FAR_FUTURE), key)
