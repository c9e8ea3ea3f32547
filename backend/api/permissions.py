"""Field permissions: authentication and role checks, with stable `extensions.code` values."""

from __future__ import annotations

from typing import Any, ClassVar

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
        if getattr(info.context, "api_key", None) is not None:
            raise forbidden("admin fields are not available to API keys")
        return info.context.user.user.role == "admin"


def forbidden(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


class ApiKeyScope(BasePermission):
    """Declares what an API key needs to reach a field: `required_scope`, or None for fields no
    key may reach (account security). Requests without a key pass (other classes decide).

    Every root field an API key calls must carry one of these: backend.api.scope_gate refuses
    fields that declare nothing, so a new field is closed to keys until it says what it needs.
    """

    required_scope: ClassVar[str | None] = None
    message = "this API key may not do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # getattr: tests may execute the schema with a bare context that has no `api_key`.
        key = getattr(info.context, "api_key", None)
        if key is None:
            return True
        if self.required_scope is None:
            raise forbidden("API keys may not do this; use a password session")
        if self.required_scope not in key.scopes:
            raise forbidden(f"this API key lacks the {self.required_scope} scope")
        return True


class ReadScope(ApiKeyScope):
    """My own account's data and public market data."""

    required_scope = "READ"


class TradeScope(ApiKeyScope):
    """Spot order mutations."""

    required_scope = "TRADE"


class WithdrawScope(ApiKeyScope):
    """Withdrawals (the wallet issue)."""

    required_scope = "WITHDRAW"


class SessionOnly(ApiKeyScope):
    """Account security (API keys, password, 2FA, sessions): never through an API key."""

    required_scope = None


# Ready-made lists for `permission_classes=` (typed so every resolver can share them).
AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
ADMIN_ONLY: list[type[BasePermission]] = [IsAdmin]
# With what an API key needs (a field without a scope declaration is closed to API keys).
PUBLIC_READ: list[type[BasePermission]] = [ReadScope]
READ: list[type[BasePermission]] = [IsAuthenticated, ReadScope]
TRADE: list[type[BasePermission]] = [IsAuthenticated, TradeScope]
WITHDRAW: list[type[BasePermission]] = [IsAuthenticated, WithdrawScope]
SESSION_ONLY: list[type[BasePermission]] = [IsAuthenticated, SessionOnly]
