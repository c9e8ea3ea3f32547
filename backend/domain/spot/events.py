"""Event records the engine emits: plain tuples tagged by a kind string, with NamedTuple views.

The engine appends bare tuples because they cost a fraction of an object per record on the hot path.
Each kind has a NamedTuple of the same shape (kind first), so `decode(event)` gives named fields and
`Trade(...) == event` compares equal to the bare tuple.

Money rules the caller settles by:
* a trade moves `quote_units` from buyer to seller and `base_units` from seller to buyer; each
  side's fee is taken from what it receives (`fee_assets(taker_side)` names each fee's asset);
* `*_consumed` leaves the party's hold for the trade, `*_released` goes from the hold back to
  available (a limit buy taker's price improvement);
* a status event's `released` goes back to available (order ended: what was left; amend: excess);
* per hold, consumed + released always sums to the hold given at placement. An OCO's one hold
  sits on its limit leg and moves to the stop leg when that triggers (`Triggered.hold`, no ledger
  movement).
"""

from __future__ import annotations

from typing import Final, NamedTuple

from backend.domain.spot.orders import BUY

TRADE: Final = "trade"
STATUS: Final = "status"
RESTED: Final = "rested"
WAITING: Final = "waiting"
TRIGGERED: Final = "triggered"
AMENDED: Final = "amended"
AMEND_REJECTED: Final = "amend_rejected"

PARTIALLY_FILLED: Final = "PARTIALLY_FILLED"
FILLED: Final = "FILLED"
CANCELED: Final = "CANCELED"
EXPIRED: Final = "EXPIRED"
REJECTED: Final = "REJECTED"

NO_REASON: Final = ""
USER_CANCELED: Final = "USER_CANCELED"
DUPLICATE_ORDER_ID: Final = "DUPLICATE_ORDER_ID"
INSUFFICIENT_HOLD: Final = "INSUFFICIENT_HOLD"
POST_ONLY_WOULD_TAKE: Final = "POST_ONLY_WOULD_TAKE"
FOK_NOT_FILLABLE: Final = "FOK_NOT_FILLABLE"
IOC_UNFILLED: Final = "IOC_UNFILLED"
STP_EXPIRED: Final = "STP"
MARKET_PROTECTION: Final = "MARKET_PROTECTION"
NO_LIQUIDITY: Final = "NO_LIQUIDITY"
HOLD_EXHAUSTED: Final = "HOLD_EXHAUSTED"
NO_LAST_PRICE: Final = "NO_LAST_PRICE"
STOP_WOULD_TRIGGER_IMMEDIATELY: Final = "STOP_WOULD_TRIGGER_IMMEDIATELY"
OCO_PRICES_NOT_STRADDLING: Final = "OCO_PRICES_NOT_STRADDLING"
OCO_SIBLING_FILLED: Final = "OCO_SIBLING_FILLED"
OCO_SIBLING_TRIGGERED: Final = "OCO_SIBLING_TRIGGERED"
OCO_SIBLING_ENDED: Final = "OCO_SIBLING_ENDED"
AMEND_NOT_A_DECREASE: Final = "AMEND_NOT_A_DECREASE"
AMEND_AT_OR_BELOW_FILLED: Final = "AMEND_AT_OR_BELOW_FILLED"
AMEND_OCO_UNSUPPORTED: Final = "AMEND_OCO_UNSUPPORTED"

BASE_ASSET: Final = "BASE"
QUOTE_ASSET: Final = "QUOTE"

TradeRecord = tuple[
    str, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int
]
StatusRecord = tuple[str, int, str, str, int, int]
RestedRecord = tuple[str, int, int, int, int, int]
WaitingRecord = tuple[str, int, int, int, int, int]
TriggeredRecord = tuple[str, int, int, int, int]
AmendedRecord = tuple[str, int, int, int, int]
AmendRejectedRecord = tuple[str, int, str]
EventRecord = (
    TradeRecord
    | StatusRecord
    | RestedRecord
    | TriggeredRecord
    | AmendedRecord
    | AmendRejectedRecord
)


class Trade(NamedTuple):
    """A fill at the maker's price. Fees are in the asset each party receives."""

    kind: str
    maker_id: int
    taker_id: int
    maker_owner: int
    taker_owner: int
    taker_side: int
    price: int
    lots: int
    base_units: int
    quote_units: int
    maker_fee: int
    taker_fee: int
    maker_consumed: int
    maker_released: int
    taker_consumed: int
    taker_released: int
    at: int

    @property
    def maker_fee_asset(self) -> str:
        return fee_assets(self.taker_side)[0]

    @property
    def taker_fee_asset(self) -> str:
        return fee_assets(self.taker_side)[1]


class StatusChanged(NamedTuple):
    """PARTIALLY_FILLED (first fill of an order that keeps working) or a terminal status."""

    kind: str
    order_id: int
    status: str
    reason: str
    filled_lots: int
    released: int


class Rested(NamedTuple):
    """The order now works on the book as a maker with `open_lots` and time priority `seq`."""

    kind: str
    order_id: int
    side: int
    price: int
    open_lots: int
    seq: int


class Waiting(NamedTuple):
    """A stop is in the trigger book; `rises` = 1 if it fires when last >= stop_price."""

    kind: str
    order_id: int
    side: int
    stop_price: int
    rises: int
    seq: int


class Triggered(NamedTuple):
    """A stop fired at `last_price` and now executes as a MARKET/LIMIT order with `hold`."""

    kind: str
    order_id: int
    last_price: int
    hold: int
    at: int


class Amended(NamedTuple):
    """Quantity lowered in place (priority kept); `released` is the hold no longer needed."""

    kind: str
    order_id: int
    total_lots: int
    open_lots: int
    released: int


class AmendRejected(NamedTuple):
    kind: str
    order_id: int
    reason: str


EventView = Trade | StatusChanged | Rested | Waiting | Triggered | Amended | AmendRejected

_VIEWS: Final[dict[str, type[EventView]]] = {
    TRADE: Trade,
    STATUS: StatusChanged,
    RESTED: Rested,
    WAITING: Waiting,
    TRIGGERED: Triggered,
    AMENDED: Amended,
    AMEND_REJECTED: AmendRejected,
}


def decode(event: EventRecord) -> EventView:
    """Named view of a bare event tuple (tests, logging, the matcher's slow paths)."""
    return _VIEWS[event[0]]._make(event)


def fee_assets(taker_side: int) -> tuple[str, str]:
    """(maker's fee asset, taker's fee asset): each pays in the asset it receives."""
    return (QUOTE_ASSET, BASE_ASSET) if taker_side == BUY else (BASE_ASSET, QUOTE_ASSET)
