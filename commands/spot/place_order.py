"""Place an order: validate, hold the funds, and queue it for the matcher, in one transaction."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass

from backend.domain.errors import InvalidInput
from backend.settings import Settings
from commands.spot.acceptance import (
    STOP_TYPES,
    accepted_event,
    announce,
    check_limits,
    claim_client_order_id,
    hold_funds,
    order_row,
    trading_owner,
)
from commands.spot.market_rules import MarketContext, check_status_allows, market_context
from commands.spot.order_terms import OrderRequest, OrderTerms, order_terms
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PlaceOrder:
    user_id: uuid.UUID
    request: OrderRequest
    client_order_id: str | None
    settings: Settings


@dataclass(frozen=True)
class CheckOrder:
    """Validate an order as placeOrder would, writing nothing: cancelReplaceOrder's first step,
    so that a new order refused for its own terms never costs the client the old one."""

    request: OrderRequest
    client_order_id: str | None


CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9._:-]{1,36}")


def check_client_order_id(value: str | None) -> str:
    if value is None:
        return "x-" + uuid.uuid4().hex  # the client did not name it: a fresh one each time
    if not CLIENT_ORDER_ID.fullmatch(value):  # ASCII only (isalnum() takes any script)
        raise InvalidInput("clientOrderId", "clientOrderId must be 1-36 of [A-Za-z0-9-_.:]")
    return value


async def checked_order(
    uow: UnitOfWork, request: OrderRequest, client_order_id: str | None
) -> tuple[str, MarketContext, OrderTerms]:
    """The order's own rules (id, market, terms, market status); funds and limits come later."""
    checked_id = check_client_order_id(client_order_id)
    market = await market_context(uow.conn, request.market)
    terms = order_terms(request, market)
    check_status_allows(market.config.status, terms.type, terms.post_only)
    return checked_id, market, terms


async def check_order(cmd: CheckOrder, uow: UnitOfWork) -> None:
    await checked_order(uow, cmd.request, cmd.client_order_id)


async def place_order(cmd: PlaceOrder, uow: UnitOfWork) -> int:
    """Returns the order id (the existing one when the clientOrderId is retried)."""
    client_order_id, market, terms = await checked_order(uow, cmd.request, cmd.client_order_id)
    owner = await trading_owner(uow.conn, cmd.user_id)
    fingerprint = {k: str(v) for k, v in asdict(cmd.request).items()}
    order_id, created = await claim_client_order_id(
        uow.conn, cmd.user_id, client_order_id, fingerprint, order_row(terms, market, owner)
    )
    if not created:
        return order_id
    await check_limits(
        uow.conn, cmd.settings, cmd.user_id, market.config.symbol, terms.type in STOP_TYPES
    )
    await hold_funds(
        uow.conn,
        cmd.user_id,
        order_id,
        terms.hold_asset,
        order_row(terms, market, owner)["hold_amount"],
    )
    await announce(
        uow.conn,
        market.config.symbol,
        "spot.order_accepted",
        accepted_event(order_id, cmd.user_id, owner, terms, client_order_id),
    )
    return order_id
