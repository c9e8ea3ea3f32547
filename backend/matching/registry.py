"""What the matcher remembers about each working order beyond the engine's integers: whose it is,
what it holds, and how far it has filled. Loaded from `orders` at start, kept exact per batch."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class OrderRegistry:
    orders: dict[int, OrderInfo] = field(default_factory=dict)

    def add(self, info: OrderInfo) -> None:
        self.orders[info.id] = info

    def get(self, order_id: int) -> OrderInfo | None:
        return self.orders.get(order_id)

    def forget_finished(self, order_ids: set[int]) -> None:
        """Drop orders that ended in this batch (their final state is in the database now)."""
        for order_id in order_ids:
            info = self.orders.get(order_id)
            if info is not None and info.status in TERMINAL:
                del self.orders[order_id]
