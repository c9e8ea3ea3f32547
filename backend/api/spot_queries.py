"""My orders and fills: keyset-paginated queries and the live `myOrders` subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import orjson
import strawberry
from graphql import GraphQLError

from backend.api.context import Info
from backend.api.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from backend.api.permissions import READ, current_user
from backend.api.spot import load_orders
from backend.api.spot_types import Fill, Order, OrderStatus, market_scales
from backend.domain.errors import InvalidInput
from backend.pubsub import SubscriberLagging
from queries.spot import fills_of_orders, list_fills, list_orders

AUTH = READ


def _page(info: Info, first: int, after: str | None) -> tuple[int, int | None]:
    try:
        limit = page_size(first, info.context.services.settings.max_page_size)
        cursor = decode_cursor(after, 1)
        return limit, int(cursor[0]) if cursor else None
    except (InvalidInput, ValueError) as exc:
        raise GraphQLError(str(exc), extensions={"code": "VALIDATION_ERROR"}) from None


@strawberry.type
class SpotQuery:
    @strawberry.field(permission_classes=AUTH, description="My orders, newest first.")
    async def my_orders(
        self,
        info: Info,
        market: Annotated[str | None, strawberry.argument(description="Only this market.")] = None,
        status: Annotated[
            OrderStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        open_only: Annotated[bool, strawberry.argument(description="Only working orders.")] = False,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 50,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> Connection[Order]:
        limit, before = _page(info, first, after)
        user_id = current_user(info).user.id
        async with info.context.services.engine.connect() as conn:
            views = await list_orders(
                conn,
                user_id,
                market,
                status.value if status else None,
                open_only,
                before,
                limit + 1,
            )
            page = views[:limit]
            fills = await fills_of_orders(conn, [v.id for v in page])
            scales = await market_scales(conn)
        return Connection(
            edges=[
                Edge(
                    cursor=encode_cursor(v.id),
                    node=Order.from_view(v, scales[v.market], fills[v.id]),
                )
                for v in page
            ],
            page_info=PageInfo(
                has_next_page=len(views) > limit,
                end_cursor=encode_cursor(page[-1].id) if page else None,
            ),
        )

    @strawberry.field(permission_classes=AUTH, description="My fills, newest first.")
    async def my_trades(
        self,
        info: Info,
        market: Annotated[str | None, strawberry.argument(description="Only this market.")] = None,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 50,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> Connection[Fill]:
        limit, before = _page(info, first, after)
        async with info.context.services.engine.connect() as conn:
            views = await list_fills(conn, current_user(info).user.id, market, before, limit + 1)
            scales = await market_scales(conn)
        page = views[:limit]
        return Connection(
            edges=[
                Edge(cursor=encode_cursor(v.id), node=Fill.from_view(v, scales[v.market]))
                for v in page
            ],
            page_info=PageInfo(
                has_next_page=len(views) > limit,
                end_cursor=encode_cursor(page[-1].id) if page else None,
            ),
        )


@strawberry.type
class SpotSubscription:
    @strawberry.subscription(
        permission_classes=AUTH,
        description=("My orders: first every open one, then each order as the matcher changes it."),
    )
    async def my_orders(self, info: Info) -> AsyncGenerator[Order, None]:
        user_id = current_user(info).user.id
        services = info.context.services
        async with services.hub.listen(f"user:{user_id}:orders") as queue:
            async with services.engine.connect() as conn:
                open_orders = await list_orders(conn, user_id, None, None, True, None, 1000)
            for order in await load_orders(info, [o.id for o in reversed(open_orders)]):
                yield order
            while True:
                raw = await queue.get()
                if raw is None:
                    raise SubscriberLagging("order updates were dropped; resubscribe")
                ids = [change["id"] for change in orjson.loads(raw)["orders"]]
                for order in await load_orders(info, ids):
                    yield order
