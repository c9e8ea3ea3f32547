"""Place an order: validate, hold the funds, and queue it for the matcher, in one transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields

from backend.domain.errors import InvalidInput
from backend.settings import Settings
from commands.spot.acceptance import accept_order, accepted_event, claim_client_order_id, order_row
from commands.spot.market_rules import (
    MarketContext,
    check_status_allows,
    market_and_owner,
    market_context,
)
from commands.spot.order_terms import OrderRequest, OrderTerms, order_terms
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PlaceOrder:
    user_id: uuid.UUID
    request: OrderRequest
    client_order_id: str | None
    settings: Settings
    # Called with a new order's id before the transaction commits: placeOrder registers its
    # wait for the matcher's report there, which then cannot come before it.
    on_accepted: Callable[[int], None] | None = None


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


def check_terms(request: OrderRequest, market: MarketContext) -> OrderTerms:
    """The order's own rules against its market (terms, market status)."""
    terms = order_terms(request, market)
    check_status_allows(market.config.status, terms.type, terms.post_only)
    return terms


async def check_order(cmd: CheckOrder, uow: UnitOfWork) -> None:
    """The order's own rules (id, market, terms, market status); funds and limits come later."""
    check_client_order_id(cmd.client_order_id)
    check_terms(cmd.request, await market_context(uow.conn, cmd.request.market))


async def place_order(cmd: PlaceOrder, uow: UnitOfWork) -> int:
    """Returns the order id (the existing one when the clientOrderId is retried). Three
    statements: market and owner, the order row, then limits, hold and events together."""
    client_order_id = check_client_order_id(cmd.client_order_id)
    found = await market_and_owner(uow.conn, cmd.request.market, cmd.user_id)
    market = found.market()
    terms = check_terms(cmd.request, market)
    owner = found.trading_owner()
    fingerprint = {f.name: str(getattr(cmd.request, f.name)) for f in fields(cmd.request)}
    row = order_row(terms, market, owner)
    order_id, created = await claim_client_order_id(
        uow.conn, cmd.user_id, client_order_id, fingerprint, row
    )
    if not created:
        return order_id
    await accept_order(
        uow.conn,
        cmd.settings,
        cmd.user_id,
        order_id,
        market.config.symbol,
        terms,
        row["hold_amount"],
        accepted_event(order_id, cmd.user_id, owner, terms, client_order_id),
    )
    if cmd.on_accepted is not None:
        cmd.on_accepted(order_id)
    return order_id
