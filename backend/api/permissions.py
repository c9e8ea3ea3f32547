"""Field permissions: authentication and role checks, with stable `extensions.code` values."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission

from backend.api.context import Info


def unauthenticated() -> GraphQLError:
    return GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})


class IsAuthenticated(BasePermission):
    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.user is not None


class IsAdmin(BasePermission):
    message = "admin role required"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.user is None:
            raise unauthenticated()
        return info.context.user.user.role == "admin"
