"""The ASGI GraphQL view: builds the context and authenticates HTTP requests and WebSockets."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from backend.api.authentication import session_user
from backend.api.context import Context
from backend.api.masking import is_outage
from backend.api.session_watch import SessionWatch
from backend.api.shared_feeds import SharedFeedHandler, SharedFeeds
from backend.services import Services
from queries.views import SessionUser


def bearer_token(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("Bearer "):
        token = value.removeprefix("Bearer ").strip()
        return token or None
    return None


class ExchangeGraphQL(GraphQL[Context, None]):
    # Identical public feed subscriptions run once per event (backend.api.shared_feeds).
    graphql_transport_ws_handler_class = SharedFeedHandler

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.shared_feeds = SharedFeeds()
        self.session_watch = SessionWatch(
            services.engine, services.settings.ws_session_check_seconds
        )

    async def _session(self, token: str, ip: str | None) -> SessionUser | None:
        return await session_user(self.services, token, ip)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        context = Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            services=self.services,
            request_id=request_id,
        )
        principal = request.scope.get("state", {}).get("principal")
        if principal is not None:
            # Authenticated by backend.api.request_guard (session or signed API key).
            context.user = principal.user
            context.api_key = principal.api_key
        elif isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                # An unknown or expired token is treated as anonymous; fields that need a user
                # then answer UNAUTHENTICATED.
                try:
                    context.user = await self._session(token, context.client_ip)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    context.auth_unavailable = True
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        token = bearer_token(params.get("authorization") or params.get("Authorization"))
        if token is None:
            return {"authenticated": False}  # anonymous: public subscriptions only
        try:
            user = await self._session(token, context.client_ip)
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise ConnectionRejectionError({"reason": "service unavailable, retry"}) from exc
        if user is None:
            raise ConnectionRejectionError({"reason": "invalid or expired token"})
        context.user = user
        if isinstance(context.request, WebSocket):
            self.session_watch.watch(context.request, user.session_id)
        return {"authenticated": True}
