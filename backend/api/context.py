"""Per-request (HTTP) or per-connection (WebSocket) context handed to every resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from backend.security.client_ip import client_ip
from backend.services import Services
from queries.api_keys import ApiKeyView
from queries.views import SessionUser


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    services: Services
    request_id: str
    user: SessionUser | None = None
    # The session could not be looked up (database away): fields that need a user answer
    # SERVICE_UNAVAILABLE instead of UNAUTHENTICATED, so clients retry rather than log out.
    auth_unavailable: bool = False
    # graphql-transport-ws puts the connection_init payload here.
    connection_params: dict[str, Any] = field(default_factory=dict)
    # Set when the request was signed with an API key (then `user` is the key's owner and
    # `user.session_id` the key's id): fields check its scopes (backend.api.permissions).
    api_key: ApiKeyView | None = None

    @property
    def client_ip(self) -> str | None:
        """The TCP peer, or X-Forwarded-For's client when the peer is a trusted proxy."""
        peer = self.request.client.host if self.request.client else None
        forwarded = self.request.headers.get("x-forwarded-for")
        return client_ip(peer, forwarded, self.services.settings.trusted_proxies)


Info = strawberry.Info[Context, None]
