"""Place an OCO: a post-only limit leg and a stop leg sharing one hold (held on the limit leg)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace

from sqlalchemy import update

from backend.db.tables import orders
from backend.settings import Settings
from commands.spot.acceptance import (
    accepted_event,
    announce,
    check_limits,
    claim_client_order_id,
    hold_funds,
    order_row,
    trading_owner,
)
from commands.spot.market_rules import check_status_allows, market_context
from commands.spot.order_terms import OrderRequest, order_terms
from commands.spot.place_order import check_client_order_id
from commands.unit_of_work import UnitOfWork

STOP_LEG_SUFFIX = "~stop"  # "~" is not allowed in client ids, so this never collides


@dataclass(frozen=True)
class PlaceOcoOrder:
    user_id: uuid.UUID
    market: str
    side: str
    quantity: object
    price: object
    stop_price: object
    stop_limit_price: object | None
    client_order_id: str | None
    settings: Settings
    self_trade_prevention: str = "EXPIRE_TAKER"


async def place_oco_order(cmd: PlaceOcoOrder, uow: UnitOfWork) -> int:
    """Returns the limit leg's order id, which is also the OCO group id."""
    client_order_id = check_client_order_id(cmd.client_order_id)
    market = await market_context(uow.conn, cmd.market)
    limit_terms = order_terms(
        OrderRequest(
            cmd.market,
            cmd.side,
            "LIMIT",
            "GTC",
            True,
            cmd.price,
            None,
            cmd.quantity,
            None,
            cmd.self_trade_prevention,
        ),
        market,
    )
    stop_terms = order_terms(
        OrderRequest(
            cmd.market,
            cmd.side,
            "STOP_LIMIT" if cmd.stop_limit_price else "STOP_MARKET",
            None,
            False,
            cmd.stop_limit_price,
            cmd.stop_price,
            cmd.quantity,
            None,
            cmd.self_trade_prevention,
        ),
        market,
    )
    check_status_allows(market.config.status, "LIMIT", True)
    check_status_allows(market.config.status, stop_terms.type, False)
    # One hold for both legs: enough for whichever leg ends up executing.
    hold_units = max(limit_terms.hold_units, stop_terms.hold_units)
    limit_terms = replace(limit_terms, hold_units=hold_units)
    owner = await trading_owner(uow.conn, cmd.user_id)
    fingerprint = {k: str(v) for k, v in asdict(cmd).items() if k not in ("settings", "user_id")}
    limit_row = order_row(limit_terms, market, owner)
    limit_id, created = await claim_client_order_id(
        uow.conn, cmd.user_id, client_order_id, {**fingerprint, "oco": "limit"}, limit_row
    )
    if not created:
        return limit_id
    # The stop leg holds nothing until it fires; then the pair's hold moves over to it, so the
    # most it may hold is that one hold.
    stop_row = {
        **order_row(stop_terms, market, owner),
        "hold_amount": limit_row["hold_amount"],
        "hold_remaining": 0,
    }
    stop_id, _ = await claim_client_order_id(
        uow.conn,
        cmd.user_id,
        client_order_id + STOP_LEG_SUFFIX,
        {**fingerprint, "oco": "stop"},
        stop_row,
    )
    for leg, sibling in ((limit_id, stop_id), (stop_id, limit_id)):
        await uow.conn.execute(
            update(orders)
            .where(orders.c.id == leg)
            .values(oco_group_id=limit_id, oco_sibling_id=sibling)
        )
    await check_limits(uow.conn, cmd.settings, cmd.user_id, cmd.market, True)
    await hold_funds(
        uow.conn, cmd.user_id, limit_id, limit_terms.hold_asset, limit_row["hold_amount"]
    )
    event = accepted_event(limit_id, cmd.user_id, owner, limit_terms, client_order_id)
    event["oco"] = accepted_event(
        stop_id, cmd.user_id, owner, stop_terms, client_order_id + STOP_LEG_SUFFIX
    )
    await announce(uow.conn, cmd.market, "spot.order_accepted", event)
    return limit_id
