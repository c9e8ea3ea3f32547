"""Rate limits that only GraphQL can see: orders per 10 seconds per account, as a permission
class on the fields that place orders (the request-weight limits run earlier, in
backend.api.request_guard)."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.permission import BasePermission

from backend.api.context import Info
from backend.api.permissions import TRADE, current_user
from backend.security.rate_limit import Bucket, RateLimited

ORDER_WINDOW_MS = 10_000


def rate_limited_error(exc: RateLimited) -> GraphQLError:
    return GraphQLError(
        exc.message,
        extensions={
            "code": "RATE_LIMITED",
            "limit": exc.bucket,
            "retryAfter": exc.retry_after_seconds,
        },
    )


class OrderRateLimit(BasePermission):
    """Takes `orders` from the account's bucket (Binance's ORDERS per 10 s); market-maker keys
    get the higher tier. Over it: HTTP 429, Retry-After, extensions.code RATE_LIMITED."""

    orders: ClassVar[int] = 1
    message = "order rate limit exceeded"
    error_extensions = {"code": "RATE_LIMITED"}

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        services = info.context.services
        settings = services.settings
        limiter = services.rate_limiter
        if limiter is None or not settings.rate_limits_enabled:
            return True
        key = info.context.api_key
        tier = settings.rate_limit_market_maker_factor if key and key.market_maker else 1
        bucket = Bucket(
            "orders",
            limiter.key("orders", current_user(info).user.id),
            settings.rate_limit_orders_per_10s * tier,
            ORDER_WINDOW_MS,
            self.orders,
        )
        try:
            await limiter.take([bucket])
        except RateLimited as exc:
            response = info.context.response
            if response is not None:
                response.status_code = 429
                response.headers["Retry-After"] = str(exc.retry_after_seconds)
            raise rate_limited_error(exc) from None
        return True


class OcoOrderRateLimit(OrderRateLimit):
    """An OCO pair is two orders."""

    orders = 2


PLACES_ORDER: list[type[BasePermission]] = [*TRADE, OrderRateLimit]
PLACES_OCO: list[type[BasePermission]] = [*TRADE, OcoOrderRateLimit]
