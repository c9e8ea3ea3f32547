"""What the matcher remembers about each working order beyond the engine's integers: whose it is,
what it holds, and how far it has filled. Loaded from `orders` at start, kept exact per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backend.domain.spot.orders import Rec

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

TERMINAL = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED"})


@dataclass(slots=True)  # a deep book holds a million of these
class OrderInfo:
    id: int
    user_id: str
    owner: int
    side: str  # "BUY" / "SELL"
    type: str
    hold_asset: str
    price_ticks: int
    total_lots: int
    hold_units: int  # still locked for this order
    filled_lots: int = 0
    filled_quote_units: int = 0
    status: str = "PENDING_NEW"
    expiry_reason: str | None = None
    priority: int | None = None
    triggered: bool = False
    resting: bool = False
    stop_rises: bool | None = None
    oco_sibling: int | None = None


def _nothing_deferred(rec: Rec) -> OrderInfo:
    raise KeyError(rec[0])


class OrderTable(dict[int, OrderInfo]):
    """Order id -> OrderInfo, where the orders of a loaded book may stay `deferred` as their
    engine records (as loaded) until first asked for: a Python object per resting order was most
    of a deep book's load time and memory, and most resting orders are never touched. `expand`
    turns such a record into its OrderInfo. Views of the whole table expand everything first."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred: dict[int, Rec] = {}
        self.expand: Callable[[Rec], OrderInfo] = _nothing_deferred

    def defer(self, records: dict[int, Rec], expand: Callable[[Rec], OrderInfo]) -> None:
        self.deferred, self.expand = records, expand

    def __missing__(self, order_id: int) -> OrderInfo:
        info = self[order_id] = self.expand(self.deferred.pop(order_id))
        return info

    def get(self, order_id: int, default: Any = None) -> Any:
        info = dict.get(self, order_id)
        if info is None and order_id in self.deferred:
            return self[order_id]
        return default if info is None else info

    def __contains__(self, order_id: object) -> bool:
        return dict.__contains__(self, order_id) or order_id in self.deferred

    def __len__(self) -> int:
        return dict.__len__(self) + len(self.deferred)

    def __iter__(self) -> Iterator[int]:
        self._expand_all()
        return dict.__iter__(self)

    def keys(self) -> dict_keys[int, OrderInfo]:
        self._expand_all()
        return dict.keys(self)

    def values(self) -> dict_values[int, OrderInfo]:
        self._expand_all()
        return dict.values(self)

    def items(self) -> dict_items[int, OrderInfo]:
        self._expand_all()
        return dict.items(self)

    def _expand_all(self) -> None:
        while self.deferred:
            order_id, rec = self.deferred.popitem()
            self[order_id] = self.expand(rec)


@dataclass
class OrderRegistry:
    orders: OrderTable = field(default_factory=OrderTable)

    def add(self, info: OrderInfo) -> None:
        self.orders[info.id] = info

    def get(self, order_id: int) -> OrderInfo | None:
        info: OrderInfo | None = self.orders.get(order_id)
        return info

    def forget_finished(self, order_ids: set[int]) -> None:
        """Drop orders that ended in this batch (their final state is in the database now)."""
        for order_id in order_ids:
            info = self.orders.get(order_id)
            if info is not None and info.status in TERMINAL:
                del self.orders[order_id]
