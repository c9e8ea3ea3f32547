"""LIMIT orders: resting, crossing, price-time priority, IOC, FOK, post-only, hold checks."""

from __future__ import annotations

from backend.domain.spot.events import (
    EXPIRED,
    FILLED,
    FOK_NOT_FILLABLE,
    INSUFFICIENT_HOLD,
    IOC_UNFILLED,
    PARTIALLY_FILLED,
    POST_ONLY_WOULD_TAKE,
    REJECTED,
    Rested,
    StatusChanged,
)
from backend.domain.spot.orders import BUY, FOK, IOC, SELL
from tests.unit.domain.spot.factories import (
    an_engine,
    buy,
    buy_hold,
    drain,
    sell,
    status_of,
    trades,
)


def test_non_crossing_order_rests() -> None:
    # given
    engine = an_engine()
    # when
    buy(engine, 1, 99, 5)
    sell(engine, 2, 101, 3)
    # then
    assert drain(engine) == [
        Rested("rested", 1, BUY, 99, 5, 1),
        Rested("rested", 2, SELL, 101, 3, 2),
    ]
    assert engine.book_levels(5) == ([(99, 5)], [(101, 3)])


def test_crossing_order_trades_at_maker_price_and_rests_the_rest() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    drain(engine)
    # when
    buy(engine, 2, 105, 5)
    # then
    events = drain(engine)
    [trade] = trades(events)
    assert (trade.maker_id, trade.taker_id, trade.price, trade.lots) == (1, 2, 100, 2)
    assert trade.taker_side == BUY
    assert status_of(events, 1) == [(FILLED, "")]
    assert status_of(events, 2) == [(PARTIALLY_FILLED, "")]
    assert events[-1] == Rested("rested", 2, BUY, 105, 3, 2)
    assert engine.book_levels(5) == ([(105, 3)], [])
    assert engine.last_price == 100


def test_better_price_first_then_earlier_order_first() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 101, 1)
    sell(engine, 2, 100, 1)
    sell(engine, 3, 100, 1)
    drain(engine)
    # when
    buy(engine, 4, 101, 3)
    # then
    assert [t.maker_id for t in trades(drain(engine))] == [2, 3, 1]


def test_sweep_walks_levels_and_stops_at_limit() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 2)
    buy(engine, 2, 99, 2)
    buy(engine, 3, 98, 2)
    drain(engine)
    # when
    sell(engine, 4, 99, 10)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2), (99, 2)]
    assert engine.book_levels(5) == ([(98, 2)], [(99, 6)])


def test_ioc_fills_what_it_can_and_expires_the_rest() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    drain(engine)
    # when
    buy(engine, 2, 100, 5, tif=IOC)
    # then
    events = drain(engine)
    assert sum(t.lots for t in trades(events)) == 2
    assert events[-1] == StatusChanged("status", 2, EXPIRED, IOC_UNFILLED, 2, buy_hold(100, 3))
    assert engine.book_levels(5) == ([], [])


def test_ioc_without_a_cross_expires_at_once() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 101, 2)
    drain(engine)
    # when
    buy(engine, 2, 100, 5, tif=IOC)
    # then
    assert drain(engine) == [StatusChanged("status", 2, EXPIRED, IOC_UNFILLED, 0, buy_hold(100, 5))]


def test_fok_that_cannot_fill_fully_has_no_effect() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    sell(engine, 2, 101, 2)
    sell(engine, 3, 102, 5)
    drain(engine)
    book_before = engine.snapshot().orders
    # when
    buy(engine, 4, 101, 5, tif=FOK)
    # then
    assert drain(engine) == [
        StatusChanged("status", 4, EXPIRED, FOK_NOT_FILLABLE, 0, buy_hold(101, 5))
    ]
    assert engine.snapshot().orders == book_before


def test_fok_that_can_fill_fills_across_levels() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    sell(engine, 2, 101, 3)
    drain(engine)
    # when
    buy(engine, 3, 101, 5, tif=FOK)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2), (101, 3)]
    assert status_of(events, 3) == [(FILLED, "")]


def test_post_only_that_would_take_is_rejected() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    drain(engine)
    # when
    buy(engine, 2, 100, 1, post_only=True)
    # then
    assert drain(engine) == [
        StatusChanged("status", 2, REJECTED, POST_ONLY_WOULD_TAKE, 0, buy_hold(100, 1))
    ]
    assert engine.book_levels(5) == ([], [(100, 2)])


def test_post_only_that_does_not_cross_rests() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    drain(engine)
    # when
    buy(engine, 2, 99, 1, post_only=True)
    # then
    assert drain(engine) == [Rested("rested", 2, BUY, 99, 1, 2)]


def test_order_whose_hold_does_not_cover_it_is_rejected() -> None:
    # given
    engine = an_engine()
    # when
    buy(engine, 1, 100, 2, hold=buy_hold(100, 2) - 1)
    sell(engine, 2, 100, 2, hold=199)
    # then
    events = drain(engine)
    assert status_of(events, 1) == [(REJECTED, INSUFFICIENT_HOLD)]
    assert status_of(events, 2) == [(REJECTED, INSUFFICIENT_HOLD)]
    assert engine.book_levels(5) == ([], [])
