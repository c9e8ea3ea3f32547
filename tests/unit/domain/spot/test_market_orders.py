"""MARKET orders by base lots and by quote amount, market protection, liquidity and hold limits."""

from __future__ import annotations

from backend.domain.spot.events import (
    EXPIRED,
    FILLED,
    HOLD_EXHAUSTED,
    INSUFFICIENT_HOLD,
    MARKET_PROTECTION,
    NO_LIQUIDITY,
    REJECTED,
    StatusChanged,
)
from backend.domain.spot.orders import BUY, SELL
from backend.domain.spot.units import market_buy_hold
from tests.unit.domain.spot.factories import (
    a_spec,
    an_engine,
    buy,
    drain,
    sell,
    status_of,
    trade_at,
    trades,
)


def test_market_buy_by_lots_sweeps_and_releases_unused_hold() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    sell(engine, 2, 101, 3)
    drain(engine)
    hold = market_buy_hold(a_spec(), 100, 4)
    # when
    engine.place_market(3, 3, BUY, 4, hold, 7)
    # then
    events = drain(engine)
    assert [(t.price, t.lots, t.taker_consumed) for t in trades(events)] == [
        (100, 2, 20000),
        (101, 2, 20200),
    ]
    assert hold == 44000
    assert events[-1] == StatusChanged("status", 3, FILLED, "", 4, 44000 - 40200)


def test_market_sell_by_lots() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 2)
    buy(engine, 2, 99, 3)
    drain(engine)
    # when
    engine.place_market(3, 3, SELL, 4, 400, 7)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2), (99, 2)]
    assert events[-1] == StatusChanged("status", 3, FILLED, "", 4, 0)


def test_market_buy_by_quote_spends_at_most_the_quote_amount_in_whole_lots() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 2)
    sell(engine, 2, 101, 3)
    drain(engine)
    # when
    engine.place_market(3, 3, BUY, 0, 35000, 7, quote=35000)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2), (101, 1)]
    assert sum(t.quote_units for t in trades(events)) == 30100
    assert events[-1] == StatusChanged("status", 3, FILLED, "", 3, 4900)


def test_market_sell_by_quote_sells_until_the_quote_amount_is_reached() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 2)
    buy(engine, 2, 99, 3)
    drain(engine)
    # when: receive up to 250.00 (25000 units), with 10 lots of base held
    engine.place_market(3, 3, SELL, 0, 1000, 7, quote=25000)
    # then: 2 lots at 100 = 20000; one more at 99 would exceed 25000
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2)]
    assert events[-1] == StatusChanged("status", 3, FILLED, "", 2, 800)


def test_market_sell_by_quote_that_runs_out_of_held_base_expires() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 5)
    drain(engine)
    # when
    engine.place_market(2, 2, SELL, 0, 200, 7, quote=100000)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2)]
    assert events[-1] == StatusChanged("status", 2, EXPIRED, HOLD_EXHAUSTED, 2, 0)


def test_market_buy_never_fills_beyond_the_protection_band() -> None:
    # given: last trade 100, protection 10 % -> a buy may pay at most 110
    engine = an_engine()
    trade_at(engine, 100)
    sell(engine, 1, 105, 1)
    sell(engine, 2, 111, 5)
    drain(engine)
    # when
    engine.place_market(3, 3, BUY, 3, 100000, 7)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(105, 1)]
    assert status_of(events, 3) == [(EXPIRED, MARKET_PROTECTION)]
    assert engine.book_levels(5) == ([], [(111, 5)])


def test_market_sell_never_fills_below_the_protection_band() -> None:
    # given: last 100 -> a sell may get no less than 90
    engine = an_engine()
    trade_at(engine, 100)
    buy(engine, 1, 90, 1)
    buy(engine, 2, 89, 1)
    drain(engine)
    # when
    engine.place_market(3, 3, SELL, 2, 200, 7)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(90, 1)]
    assert status_of(events, 3) == [(EXPIRED, MARKET_PROTECTION)]


def test_market_order_on_an_empty_book_expires_for_no_liquidity() -> None:
    # given
    engine = an_engine()
    # when
    engine.place_market(1, 1, BUY, 3, 5000, 7)
    # then
    assert drain(engine) == [StatusChanged("status", 1, EXPIRED, NO_LIQUIDITY, 0, 5000)]


def test_market_order_that_exhausts_the_book_expires_its_rest() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1)
    drain(engine)
    # when
    engine.place_market(2, 2, BUY, 3, 50000, 7)
    # then
    events = drain(engine)
    assert len(trades(events)) == 1
    assert events[-1] == StatusChanged("status", 2, EXPIRED, NO_LIQUIDITY, 1, 40000)


def test_market_buy_by_lots_stops_when_its_hold_is_spent() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 5)
    drain(engine)
    # when
    engine.place_market(2, 2, BUY, 5, 25000, 7)
    # then
    events = drain(engine)
    assert [(t.price, t.lots) for t in trades(events)] == [(100, 2)]
    assert events[-1] == StatusChanged("status", 2, EXPIRED, HOLD_EXHAUSTED, 2, 5000)


def test_market_buy_by_quote_needs_the_quote_amount_held() -> None:
    # given
    engine = an_engine()
    # when
    engine.place_market(1, 1, BUY, 0, 999, 7, quote=1000)
    # then
    assert drain(engine) == [StatusChanged("status", 1, REJECTED, INSUFFICIENT_HOLD, 0, 999)]
