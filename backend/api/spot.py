"""Spot trading: place, cancel and amend orders; my orders and fills, live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import (
    AccountUnavailableError,
    DuplicateClientOrderIdError,
    Error,
    ErrorCode,
    InsufficientFundsError,
    LimitExceededError,
    MarketUnavailableError,
    NotFoundError,
    OrderNotOpenError,
    ValidationError,
)
from backend.api.execution import execute
from backend.api.permissions import TRADE, current_user
from backend.api.rate_limits import PLACES_OCO, PLACES_ORDER
from backend.api.spot_types import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    TimeInForce,
    order_scales,
)
from backend.db.engine import autocommit
from backend.matching.registry import TERMINAL
from commands.spot.cancel_order import AmendOrder, CancelAllOrders, CancelOrder, order_number
from commands.spot.order_terms import OrderRequest
from commands.spot.place_oco_order import PlaceOcoOrder
from commands.spot.place_order import CheckOrder, PlaceOrder
from queries.spot import get_orders, get_orders_with_fills

# Placing orders also counts against the account's orders-per-10-seconds limit.
AUTH = TRADE


@strawberry.input(description="A new order. Prices and quantities are decimal strings.")
class PlaceOrderInput:
    market: str = strawberry.field(description="Market symbol, e.g. BTC-USDT.")
    side: OrderSide = strawberry.field(description="BUY or SELL.")
    type: OrderType = strawberry.field(description="MARKET, LIMIT, STOP_MARKET or STOP_LIMIT.")
    time_in_force: TimeInForce | None = strawberry.field(
        default=None, description="LIMIT: GTC (default), IOC, FOK."
    )
    post_only: bool = strawberry.field(default=False, description="Refuse instead of taking.")
    price: Decimal | None = strawberry.field(default=None, description="LIMIT/STOP_LIMIT price.")
    stop_price: Decimal | None = strawberry.field(default=None, description="Stop trigger price.")
    quantity: Decimal | None = strawberry.field(default=None, description="Base quantity.")
    quote_quantity: Decimal | None = strawberry.field(
        default=None, description="MARKET only: the quote amount to spend (buy) or receive (sell)."
    )
    client_order_id: str | None = strawberry.field(
        default=None, description="Your id (1-36 of A-Za-z0-9-_.:); a retry returns the same order."
    )
    self_trade_prevention: SelfTradePrevention = strawberry.field(
        default=SelfTradePrevention.EXPIRE_TAKER, description="STP mode."
    )


@strawberry.input(description="An OCO: a post-only limit leg and a stop leg sharing one hold.")
class PlaceOcoOrderInput:
    market: str = strawberry.field(description="Market symbol.")
    side: OrderSide = strawberry.field(description="BUY or SELL.")
    quantity: Decimal = strawberry.field(description="Base quantity of both legs.")
    price: Decimal = strawberry.field(description="The limit leg's price.")
    stop_price: Decimal = strawberry.field(description="The stop leg's trigger price.")
    stop_limit_price: Decimal | None = strawberry.field(
        default=None, description="Stop-limit price; without it the stop leg is a stop-market."
    )
    client_order_id: str | None = strawberry.field(default=None, description="Your id.")
    self_trade_prevention: SelfTradePrevention = strawberry.field(
        default=SelfTradePrevention.EXPIRE_TAKER, description="STP mode of both legs."
    )


@strawberry.input(description="Which order: by id or by your clientOrderId.")
class CancelOrderInput:
    order_id: strawberry.ID | None = strawberry.field(default=None, description="Exchange id.")
    client_order_id: str | None = strawberry.field(default=None, description="Your id.")


@strawberry.input(description="Lower an order's quantity; it keeps its place in the queue.")
class AmendOrderInput:
    order_id: strawberry.ID = strawberry.field(description="Exchange id.")
    quantity: Decimal = strawberry.field(description="New total quantity (lower than before).")


@strawberry.input(description="Cancel an order and place another; stops if the cancel fails.")
class CancelReplaceOrderInput:
    cancel: CancelOrderInput = strawberry.field(description="The order to cancel.")
    order: PlaceOrderInput = strawberry.field(description="The order to place.")


@strawberry.type(description="The OCO's two legs.")
class OcoOrder:
    limit_order: Order = strawberry.field(description="The post-only limit leg.")
    stop_order: Order = strawberry.field(description="The stop leg.")


@strawberry.type(
    description="cancelReplaceOrder canceled the order, then the new order was refused for a"
    " reason known only after the cancel (funds, limits): the old order stays canceled."
)
class ReplacementRefusedError(Error):
    canceled_order: Order = strawberry.field(description="The order that was canceled.")
    reason: str = strawberry.field(description="The new order's error code.")


@strawberry.type(description="Markets where all your orders are being canceled.")
class CancelAllResult:
    markets: list[str] = strawberry.field(description="Markets that had open orders.")


PlaceErrors = (
    ValidationError
    | InsufficientFundsError
    | MarketUnavailableError
    | LimitExceededError
    | DuplicateClientOrderIdError
    | NotFoundError
    | AccountUnavailableError
)
PlaceOrderResult = Annotated[Order | PlaceErrors, strawberry.union("PlaceOrderResult")]
PlaceOcoOrderResult = Annotated[OcoOrder | PlaceErrors, strawberry.union("PlaceOcoOrderResult")]
CancelOrderResult = Annotated[
    Order | ValidationError | NotFoundError | OrderNotOpenError,
    strawberry.union("CancelOrderResult"),
]
CancelAllOrdersResult = Annotated[
    CancelAllResult | NotFoundError, strawberry.union("CancelAllOrdersResult")
]
CancelReplaceOrderResult = Annotated[
    Order | PlaceErrors | OrderNotOpenError | ReplacementRefusedError,
    strawberry.union("CancelReplaceOrderResult"),
]


async def load_orders(info: Info, ids: list[int]) -> list[Order]:
    user_id = current_user(info).user.id
    async with autocommit(info.context.services.engine) as conn:
        found = await get_orders_with_fills(conn, user_id, ids)
    return [Order.from_view(v, order_scales(m), fills) for v, m, fills in found]


async def wait_for_matcher(
    info: Info,
    ids: list[int],
    done: Callable[[list[Order]], bool],
    processed: asyncio.Event | None = None,
) -> list[Order]:
    """The orders once `done` holds (the matcher has processed them), or as they are after the
    configured wait. The waiter is registered before the first read, so no report is missed."""
    services = info.context.services
    with services.order_waiter.expect(ids) as reported:
        orders = await load_orders(info, ids)
        if done(orders) and processed is None:
            return orders
        try:
            await asyncio.wait_for(
                (processed or reported).wait(), services.settings.place_order_wait_seconds
            )
        except TimeoutError:
            pass
        return await load_orders(info, ids)


def matched(orders: list[Order]) -> bool:
    return all(o.status != OrderStatus.PENDING_NEW for o in orders)


def ended(orders: list[Order]) -> bool:
    return all(o.status.value in TERMINAL for o in orders)


def _request(i: PlaceOrderInput) -> OrderRequest:
    return OrderRequest(
        market=i.market,
        side=i.side.value,
        type=i.type.value,
        time_in_force=i.time_in_force.value if i.time_in_force else None,
        post_only=i.post_only,
        price=i.price,
        stop_price=i.stop_price,
        quantity=i.quantity,
        quote_quantity=i.quote_quantity,
        self_trade_prevention=i.self_trade_prevention.value,
    )


@strawberry.type
class SpotMutation:
    @strawberry.mutation(
        permission_classes=PLACES_ORDER,
        description=(
            "Place an order. Answers once the matcher has processed it (or, after the configured"
            " wait, with the PENDING_NEW order). Funds are held at acceptance."
        ),
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderResult:
        services = info.context.services
        with services.order_waiter.expecting() as accepted:

            async def present(order_id: int) -> Order:
                if order_id not in accepted.order_ids:  # a retry: the order may be done
                    return (await wait_for_matcher(info, [order_id], matched))[0]
                # New: its report cannot have come before the wait was registered (at commit).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        accepted.reported.wait(), services.settings.place_order_wait_seconds
                    )
                return (await load_orders(info, [order_id]))[0]

            return await execute(
                info,
                lambda: PlaceOrder(
                    current_user(info).user.id,
                    _request(input),
                    input.client_order_id,
                    services.settings,
                    accepted.add,
                ),
                present,
            )

    @strawberry.mutation(permission_classes=PLACES_OCO, description="Place an OCO order pair.")
    async def place_oco_order(self, info: Info, input: PlaceOcoOrderInput) -> PlaceOcoOrderResult:
        settings = info.context.services.settings

        async def present(limit_id: int) -> OcoOrder:
            async with info.context.services.engine.connect() as conn:
                (limit_view,) = await get_orders(conn, current_user(info).user.id, [limit_id])
            stop_id = limit_view.oco_sibling_id
            if stop_id is None:
                raise LookupError(f"OCO {limit_id} has no stop leg")
            legs = await wait_for_matcher(info, [limit_id, stop_id], matched)
            return OcoOrder(limit_order=legs[0], stop_order=legs[1])

        return await execute(
            info,
            lambda: PlaceOcoOrder(
                current_user(info).user.id,
                input.market,
                input.side.value,
                input.quantity,
                input.price,
                input.stop_price,
                input.stop_limit_price,
                input.client_order_id,
                settings,
                input.self_trade_prevention.value,
            ),
            present,
        )

    @strawberry.mutation(
        permission_classes=AUTH,
        description=(
            "Cancel an order (an OCO leg cancels both). Answers with the order once the matcher"
            " has processed the cancel, or after the configured wait."
        ),
    )
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> CancelOrderResult:
        async def present(order_id: int) -> Order:
            return (await wait_for_matcher(info, [order_id], ended))[0]

        return await execute(
            info,
            lambda: CancelOrder(current_user(info).user.id, input.order_id, input.client_order_id),
            present,
        )

    @strawberry.mutation(
        permission_classes=AUTH,
        description=(
            "Cancel all my open orders in a market, or in every market when omitted"
            " (a kill switch)."
        ),
    )
    async def cancel_all_orders(
        self,
        info: Info,
        market: Annotated[str | None, strawberry.argument(description="Only this market.")] = None,
    ) -> CancelAllOrdersResult:
        async def present(markets: list[str]) -> CancelAllResult:
            return CancelAllResult(markets=markets)

        return await execute(
            info, lambda: CancelAllOrders(current_user(info).user.id, market), present
        )

    @strawberry.mutation(
        permission_classes=PLACES_ORDER,
        description=(
            "Lower an order's quantity, keeping its priority. Anything else: cancelReplaceOrder."
        ),
    )
    async def amend_order(self, info: Info, input: AmendOrderInput) -> CancelOrderResult:
        target = order_number(str(input.order_id))
        target = -1 if target is None else target
        with info.context.services.order_waiter.expect([target]) as amended:

            async def present(order_id: int) -> Order:
                return (await wait_for_matcher(info, [order_id], ended, amended))[0]

            return await execute(
                info,
                lambda: AmendOrder(current_user(info).user.id, str(input.order_id), input.quantity),
                present,
            )

    @strawberry.mutation(
        permission_classes=PLACES_ORDER,
        description=(
            "Cancel an order, then place a new one once the cancel is done. A new order that breaks"
            " its own rules (terms, market, clientOrderId) is refused before anything changes; if"
            " the cancel fails (the order already ended), nothing is placed; if the new order is"
            " refused after the cancel (funds, limits), ReplacementRefusedError says so."
        ),
    )
    async def cancel_replace_order(
        self, info: Info, input: CancelReplaceOrderInput
    ) -> CancelReplaceOrderResult:
        async def nothing(_: None) -> None:
            return None

        refused = await execute(
            info, lambda: CheckOrder(_request(input.order), input.order.client_order_id), nothing
        )
        if refused is not None:
            return refused
        canceled = await SpotMutation.cancel_order(self, info, input.cancel)
        if not isinstance(canceled, Order):
            return canceled
        if canceled.status != OrderStatus.CANCELED:
            return OrderNotOpenError(
                code="ORDER_NOT_OPEN",
                message=f"the order is {canceled.status.value}; nothing placed",
            )
        placed = await SpotMutation.place_order(self, info, input.order)
        if isinstance(placed, Error):
            return ReplacementRefusedError(
                code=ErrorCode.REPLACEMENT_REFUSED.value,
                message=f"order {canceled.id} was canceled, but the new order was refused:"
                f" {placed.message}",
                canceled_order=canceled,
                reason=placed.code,
            )
        return placed
