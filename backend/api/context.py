"""Per-request (HTTP) or per-connection (WebSocket) context handed to every resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

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
    # graphql-transport-ws puts the connection_init payload here.
    connection_params: dict[str, Any] = field(default_factory=dict)
    # Set when the request was signed with an API key (then `user` is the key's owner and
    # `user.session_id` the key's id): fields check its scopes (backend.api.permissions).
    api_key: ApiKeyView | None = None

    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None


Info = strawberry.Info[Context, None]
