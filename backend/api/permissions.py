"""Field permissions: authentication and role checks, with stable `extensions.code` values."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission

from backend.api.context import Info
from queries.views import SessionUser


def unauthenticated() -> GraphQLError:
    return GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})


def no_user(info: Info) -> GraphQLError:
    """Why there is no user: none signed in, or the session store is unreachable."""
    if info.context.auth_unavailable:
        return GraphQLError(
            "the service is temporarily unavailable; retry shortly",
            extensions={"code": "SERVICE_UNAVAILABLE", "requestId": info.context.request_id},
        )
    return unauthenticated()


def current_user(info: Info) -> SessionUser:
    """The signed-in user of a field guarded by IsAuthenticated or IsAdmin."""
    if info.context.user is None:
        raise no_user(info)
    return info.context.user


class IsAuthenticated(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.user is None:
            raise no_user(info)
        return True


class IsAdmin(BasePermission):
    message = "admin role required"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.user is None:
            raise no_user(info)
        return info.context.user.user.role == "admin"


# Ready-made lists for `permission_classes=` (typed so every resolver can share them).
AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
ADMIN_ONLY: list[type[BasePermission]] = [IsAdmin]
