"""Cancel, cancel-all and amend (quantity decrease keeping time priority)."""

from __future__ import annotations

from backend.domain.spot.events import (
    AMEND_AT_OR_BELOW_FILLED,
    AMEND_NOT_A_DECREASE,
    CANCELED,
    USER_CANCELED,
    Amended,
    AmendRejected,
    StatusChanged,
)
from backend.domain.spot.orders import BUY
from tests.unit.domain.spot.factories import (
    an_engine,
    buy,
    buy_hold,
    drain,
    sell,
    statuses,
    trade_at,
    trades,
)


def test_cancel_takes_the_order_off_the_book_and_releases_its_hold() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 99, 5)
    drain(engine)
    # when
    done = engine.cancel(1, 7)
    # then
    assert done
    assert drain(engine) == [
        StatusChanged("status", 1, CANCELED, USER_CANCELED, 0, buy_hold(99, 5))
    ]
    assert engine.book_levels(5) == ([], [])


def test_cancel_of_a_partly_filled_order_releases_only_the_rest() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 5)
    sell(engine, 2, 100, 2)
    drain(engine)
    # when
    engine.cancel(1, 7)
    # then
    assert drain(engine) == [
        StatusChanged("status", 1, CANCELED, USER_CANCELED, 2, buy_hold(100, 3))
    ]


def test_cancel_of_an_unknown_or_ended_order_is_a_no_op() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1)
    buy(engine, 2, 100, 1)
    drain(engine)
    # when
    results = [engine.cancel(1, 7), engine.cancel(2, 7), engine.cancel(99, 7)]
    # then
    assert results == [False, False, False]
    assert drain(engine) == []


def test_canceled_orders_are_skipped_by_matching() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1)
    sell(engine, 2, 100, 1)
    engine.cancel(1, 7)
    drain(engine)
    # when
    buy(engine, 3, 100, 2)
    # then
    events = drain(engine)
    assert [t.maker_id for t in trades(events)] == [2]
    assert engine.book_levels(5) == ([(100, 1)], [])


def test_cancel_all_cancels_every_working_order_of_the_owner_oldest_first() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    buy(engine, 1, 90, 1, owner=7)
    sell(engine, 2, 110, 1, owner=8)
    engine.place_stop(3, 7, BUY, 1, 105, 10000, 1)
    sell(engine, 4, 111, 2, owner=7)
    drain(engine)
    # when
    count = engine.cancel_all(7, 9)
    # then
    assert count == 3
    assert [e.order_id for e in statuses(drain(engine))] == [1, 3, 4]
    assert engine.book_levels(5) == ([], [(110, 1)])


def test_amend_lowers_quantity_keeps_priority_and_releases_hold() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 5)
    buy(engine, 2, 100, 5)
    drain(engine)
    # when
    engine.amend(1, 2, 7)
    sell(engine, 3, 100, 3)
    # then
    events = drain(engine)
    assert events[0] == Amended("amended", 1, 2, 2, buy_hold(100, 3))
    assert [(t.maker_id, t.lots) for t in trades(events)] == [(1, 2), (2, 1)]
    assert engine.book_levels(5) == ([(100, 4)], [])


def test_amend_of_a_partly_filled_order_counts_the_total_quantity() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 10)
    buy(engine, 2, 100, 4)
    drain(engine)
    # when: 10 ordered, 4 filled -> total 6 leaves 2 open
    engine.amend(1, 6, 7)
    # then
    assert drain(engine) == [Amended("amended", 1, 6, 2, 400)]
    assert engine.book_levels(5) == ([], [(100, 2)])


def test_amend_must_lower_the_quantity_and_stay_above_the_filled_lots() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 10)
    buy(engine, 2, 100, 4)
    drain(engine)
    # when
    engine.amend(1, 10, 7)
    engine.amend(1, 11, 7)
    engine.amend(1, 4, 7)
    # then
    assert drain(engine) == [
        AmendRejected("amend_rejected", 1, AMEND_NOT_A_DECREASE),
        AmendRejected("amend_rejected", 1, AMEND_NOT_A_DECREASE),
        AmendRejected("amend_rejected", 1, AMEND_AT_OR_BELOW_FILLED),
    ]
    assert engine.book_levels(5) == ([], [(100, 6)])


def test_amend_of_an_unknown_order_is_a_no_op() -> None:
    # given
    engine = an_engine()
    # when
    result = engine.amend(5, 1, 7)
    # then
    assert result is False
    assert drain(engine) == []


def test_amend_of_a_waiting_stop_releases_hold() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(3, 7, BUY, 4, 105, 106 * 4 * 100, 1, limit_price=106)
    drain(engine)
    # when
    engine.amend(3, 1, 7)
    # then
    assert drain(engine) == [Amended("amended", 3, 1, 1, 106 * 3 * 100)]
    assert engine.snapshot().stops[0].lots == 1
