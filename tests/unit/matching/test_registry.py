"""The order table: orders loaded with a book stay records until first asked for."""

from __future__ import annotations

from backend.domain.spot.orders import Rec
from backend.matching.registry import OrderInfo, OrderRegistry


def _info(rec: Rec) -> OrderInfo:
    return OrderInfo(rec[0], f"user-{rec[1]}", rec[1], "BUY", "LIMIT", "Q", 99, 1, 99)


def a_registry_with_deferred(*ids: int) -> OrderRegistry:
    registry = OrderRegistry()
    registry.orders.defer({i: (i, i) for i in ids}, _info)
    return registry


def test_a_deferred_order_is_built_once_on_first_use() -> None:
    # given
    registry = a_registry_with_deferred(1, 2)
    # when
    first = registry.get(1)
    # then: built, kept, and the same object by every way of asking
    assert first is not None and first.user_id == "user-1"
    assert registry.get(1) is first
    assert registry.orders[1] is first
    assert registry.orders.get(1) is first
    assert 1 not in registry.orders.deferred
    assert registry.get(3) is None and 3 not in registry.orders


def test_a_finished_deferred_order_does_not_come_back() -> None:
    # given
    registry = a_registry_with_deferred(1)
    info = registry.get(1)
    assert info is not None
    # when
    info.status = "FILLED"
    registry.forget_finished({1})
    # then
    assert registry.get(1) is None
    assert len(registry.orders) == 0


def test_whole_table_views_include_deferred_orders() -> None:
    # given
    registry = a_registry_with_deferred(3, 1)
    registry.add(_info((2, 2)))
    # when
    ids = sorted(registry.orders)
    # then
    assert ids == [1, 2, 3]
    assert len(registry.orders) == 3
    assert {i.id for i in registry.orders.values()} == {1, 2, 3}
    assert not registry.orders.deferred
