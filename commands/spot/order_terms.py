"""Turns a client's order into the engine's integers and the funds to hold, or refuses it.

Everything here is checkable without the book: filters, the market's status and the hold. What
only the book can decide (post-only would take, stop at the last price, OCO not straddling) is the
matcher's, which ends such an order REJECTED with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.domain.errors import InvalidInput
from backend.domain.money import require_decimal
from backend.domain.spot.filters import (
    checked_lots,
    limit_order_units,
    market_order_units,
    price_ticks,
)
from backend.domain.spot.units import (
    limit_hold,
    market_buy_hold,
    price_to_ticks,
    protection_bounds,
)
from commands.spot.market_rules import MarketContext

SIDES = ("BUY", "SELL")
TYPES = ("MARKET", "LIMIT", "STOP_MARKET", "STOP_LIMIT")
TIFS = ("GTC", "IOC", "FOK")
STP_MODES = ("EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE")


@dataclass(frozen=True)
class OrderRequest:
    """A client's order as typed (decimals may still be InvalidDecimal markers)."""

    market: str
    side: str
    type: str
    time_in_force: str | None = None
    post_only: bool = False
    price: object | None = None
    stop_price: object | None = None
    quantity: object | None = None
    quote_quantity: object | None = None
    self_trade_prevention: str = "EXPIRE_TAKER"


@dataclass(frozen=True)
class OrderTerms:
    """A validated order: exact decimals for people, integers for the engine, and its hold."""

    side: str
    type: str
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    price_ticks: int
    stop_ticks: int
    lots: int
    quote_units: int
    hold_asset: str
    hold_units: int


def _decimal(value: object | None, field: str, precision: int) -> Decimal | None:
    if value is None:
        return None
    return require_decimal(value, field, precision=precision, positive=True)


def _require(value: Decimal | None, field: str, order_type: str) -> Decimal:
    if value is None:
        raise InvalidInput(field, f"{field} is required for a {order_type} order")
    return value


def _refuse(value: object | None, field: str, order_type: str) -> None:
    if value is not None:
        raise InvalidInput(field, f"{field} is not allowed for a {order_type} order")


def order_terms(req: OrderRequest, market: MarketContext) -> OrderTerms:
    """Validate `req` against the market; raises InvalidInput naming the field at fault."""
    if req.side not in SIDES:
        raise InvalidInput("side", "side must be BUY or SELL")
    if req.type not in TYPES:
        raise InvalidInput("type", f"type must be one of {', '.join(TYPES)}")
    if req.self_trade_prevention not in STP_MODES:
        raise InvalidInput("selfTradePrevention", f"must be one of {', '.join(STP_MODES)}")
    spec, last = market.spec, market.last_price
    price = _decimal(req.price, "price", market.quote_precision)
    stop = _decimal(req.stop_price, "stopPrice", market.quote_precision)
    quantity = _decimal(req.quantity, "quantity", market.base_precision)
    quote_quantity = _decimal(req.quote_quantity, "quoteQuantity", market.quote_precision)
    tif = req.time_in_force or "GTC"
    if tif not in TIFS:
        raise InvalidInput("timeInForce", "timeInForce must be GTC, IOC or FOK")
    if req.post_only and (req.type != "LIMIT" or tif != "GTC"):
        raise InvalidInput("postOnly", "postOnly applies to GTC LIMIT orders only")
    buy = req.side == "BUY"
    stop_ticks = 0
    if req.type in ("STOP_MARKET", "STOP_LIMIT"):
        stop_ticks = price_ticks(spec, _require(stop, "stopPrice", req.type), None, "stopPrice")
    else:
        _refuse(req.stop_price, "stopPrice", req.type)

    if req.type in ("LIMIT", "STOP_LIMIT"):
        _refuse(req.quote_quantity, "quoteQuantity", req.type)
        limit = _require(price, "price", req.type)
        qty = _require(quantity, "quantity", req.type)
        ticks, lots = limit_order_units(spec, limit, qty, last if req.type == "LIMIT" else None)
        return OrderTerms(
            req.side,
            req.type,
            tif,
            req.post_only,
            req.self_trade_prevention,
            limit,
            stop,
            qty,
            None,
            ticks,
            stop_ticks,
            lots,
            0,
            *_hold(market, buy, limit_hold(spec, buy, ticks, lots)),
        )

    _refuse(req.price, "price", req.type)
    if req.time_in_force not in (None, "IOC"):
        raise InvalidInput("timeInForce", f"a {req.type} order has no timeInForce")
    if req.type == "STOP_MARKET":
        _refuse(req.quote_quantity, "quoteQuantity", req.type)
        lots = checked_lots(spec, _require(quantity, "quantity", req.type))
        hold = market_buy_hold(spec, stop_ticks, lots) if buy else lots * spec.lot_units
        return OrderTerms(
            req.side,
            req.type,
            "IOC",
            False,
            req.self_trade_prevention,
            None,
            stop,
            quantity,
            None,
            0,
            stop_ticks,
            lots,
            0,
            *_hold(market, buy, hold),
        )

    lots, quote_units = market_order_units(spec, quantity, quote_quantity, last)
    return OrderTerms(
        req.side,
        "MARKET",
        "IOC",
        False,
        req.self_trade_prevention,
        None,
        None,
        quantity,
        quote_quantity,
        0,
        0,
        lots,
        quote_units,
        *_hold(market, buy, _market_hold(market, buy, lots, quote_units)),
    )


def _market_hold(market: MarketContext, buy: bool, lots: int, quote_units: int) -> int:
    """A market order holds what it may spend: the quote amount it names, or what its quantity
    can cost within the market protection band around the last price."""
    spec = market.spec
    if quote_units and buy:
        return quote_units
    if not quote_units and not buy:
        return lots * spec.lot_units
    if market.last_price is None:
        raise InvalidInput(
            "quantity" if buy else "quoteQuantity",
            "the market has no last price yet: buy by quoteQuantity or sell by quantity",
        )
    reference = price_to_ticks(spec, market.last_price)
    if buy:
        return market_buy_hold(spec, reference, lots)
    low, _high = protection_bounds(spec, reference)
    # A sell by quote amount sells at most what reaches that amount at the worst allowed price.
    per_lot = max(low, 1) * spec.tick_lot_units
    return -(-quote_units // per_lot) * spec.lot_units


def _hold(market: MarketContext, buy: bool, units: int) -> tuple[str, int]:
    return (market.config.quote if buy else market.config.base), units
