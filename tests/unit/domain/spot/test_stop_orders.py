"""STOP_MARKET / STOP_LIMIT: placement against the last price, trigger direction, cascades."""

from __future__ import annotations

from backend.domain.spot.events import (
    CANCELED,
    NO_LAST_PRICE,
    REJECTED,
    STOP_WOULD_TRIGGER_IMMEDIATELY,
    USER_CANCELED,
    Rested,
    StatusChanged,
    Trade,
    Triggered,
    Waiting,
)
from backend.domain.spot.orders import BUY, SELL
from tests.unit.domain.spot.factories import (
    an_engine,
    buy,
    drain,
    sell,
    status_of,
    trade_at,
    trades,
)


def test_stop_without_a_last_price_is_rejected() -> None:
    # given
    engine = an_engine()
    # when
    engine.place_stop(1, 1, SELL, 2, 95, 200, 7)
    # then
    assert drain(engine) == [StatusChanged("status", 1, REJECTED, NO_LAST_PRICE, 0, 200)]


def test_stop_at_the_last_price_is_rejected() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    drain(engine)
    # when
    engine.place_stop(1, 1, SELL, 2, 100, 200, 7)
    # then
    assert drain(engine) == [
        StatusChanged("status", 1, REJECTED, STOP_WOULD_TRIGGER_IMMEDIATELY, 0, 200)
    ]


def test_buy_stop_above_last_fires_on_a_trade_at_or_above_it() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(10, 10, BUY, 2, 105, 30000, 7)
    sell(engine, 1, 104, 1)
    sell(engine, 2, 106, 5)
    buy(engine, 3, 104, 1)
    events = drain(engine)
    assert Waiting("waiting", 10, BUY, 105, 1, 3) in events
    assert not any(isinstance(e, Triggered) for e in events)
    # when
    buy(engine, 4, 106, 1, now=8)
    # then
    events = drain(engine)
    assert Triggered("triggered", 10, 106, 30000, 8) in events
    assert [(t.taker_id, t.price, t.lots) for t in trades(events)] == [(4, 106, 1), (10, 106, 2)]
    assert status_of(events, 10)[-1] == ("FILLED", "")
    assert events[-1].released == 30000 - 2 * 10600  # type: ignore[union-attr]


def test_sell_stop_limit_below_last_fires_and_rests_at_its_limit() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(10, 10, SELL, 2, 95, 200, 7, limit_price=94)
    buy(engine, 1, 95, 1)
    buy(engine, 2, 93, 1)
    drain(engine)
    # when
    sell(engine, 3, 95, 1, now=8)
    # then
    events = drain(engine)
    assert Triggered("triggered", 10, 95, 200, 8) in events
    assert events[-1] == Rested("rested", 10, SELL, 94, 2, 7)
    assert engine.book_levels(5) == ([(93, 1)], [(94, 2)])


def test_sell_stop_above_last_is_a_take_profit_that_fires_on_the_way_up() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(10, 10, SELL, 1, 103, 100, 7)
    buy(engine, 1, 102, 3)
    sell(engine, 2, 103, 1)
    drain(engine)
    # when
    buy(engine, 3, 103, 1)
    # then
    events = drain(engine)
    assert [(t.taker_id, t.maker_id, t.price) for t in trades(events)] == [
        (3, 2, 103),
        (10, 1, 102),
    ]


def test_cascade_runs_in_trigger_order_and_reaches_further_stops() -> None:
    # given: last 100; stops A@98, B@96, C@98 (after A); bids 98, 97, 96, 95
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(21, 21, SELL, 1, 98, 100, 7)
    engine.place_stop(22, 22, SELL, 1, 96, 100, 7)
    engine.place_stop(23, 23, SELL, 1, 98, 100, 7)
    for oid, price in ((1, 98), (2, 97), (3, 96), (4, 95)):
        buy(engine, oid, price, 1)
    drain(engine)
    # when
    sell(engine, 5, 98, 1)
    # then
    events = drain(engine)
    assert [e.order_id for e in events if isinstance(e, Triggered)] == [21, 23, 22]
    assert [(t.taker_id, t.price) for t in trades(events)] == [
        (5, 98),
        (21, 97),
        (23, 96),
        (22, 95),
    ]


def test_stops_reached_by_one_sweep_fire_nearest_first() -> None:
    # given: falling stops at 97 (first) and 99 (second); one sell sweeps 99..97
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(21, 21, SELL, 1, 97, 100, 7)
    engine.place_stop(22, 22, SELL, 1, 99, 100, 7)
    for oid, price in ((1, 99), (2, 98), (3, 97), (4, 90)):
        buy(engine, oid, price, 1)
    drain(engine)
    # when
    sell(engine, 5, 97, 3)
    # then
    events = drain(engine)
    assert [e.order_id for e in events if isinstance(e, Triggered)] == [22, 21]


def test_rising_stops_fire_lowest_first() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(21, 21, BUY, 1, 103, 20000, 7)
    engine.place_stop(22, 22, BUY, 1, 102, 20000, 7)
    for oid, price in ((1, 102), (2, 103), (3, 104), (4, 105), (5, 106)):
        sell(engine, oid, price, 1)
    drain(engine)
    # when
    buy(engine, 6, 104, 3)
    # then
    events = drain(engine)
    assert [e.order_id for e in events if isinstance(e, Triggered)] == [22, 21]


def test_canceling_a_waiting_stop_releases_its_hold() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(10, 10, SELL, 2, 95, 200, 7)
    drain(engine)
    # when
    done = engine.cancel(10, 8)
    # then
    assert done
    assert drain(engine) == [StatusChanged("status", 10, CANCELED, USER_CANCELED, 0, 200)]
    assert engine.snapshot().stops == ()


def test_a_trade_print_is_needed_to_fire_not_just_a_quote() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    engine.place_stop(10, 10, BUY, 1, 105, 20000, 7)
    drain(engine)
    # when: the best ask moves above the stop without any trade
    sell(engine, 1, 106, 1)
    buy(engine, 2, 104, 1)
    # then
    events = drain(engine)
    assert not [e for e in events if isinstance(e, Trade | Triggered)]
    assert len(engine.snapshot().stops) == 1
