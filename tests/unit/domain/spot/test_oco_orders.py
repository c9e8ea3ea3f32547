"""OCO: a post-only limit leg and a stop leg sharing one hold."""

from __future__ import annotations

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import (
    AMEND_OCO_UNSUPPORTED,
    CANCELED,
    EXPIRED,
    FILLED,
    NO_LAST_PRICE,
    OCO_PRICES_NOT_STRADDLING,
    OCO_SIBLING_ENDED,
    OCO_SIBLING_FILLED,
    OCO_SIBLING_TRIGGERED,
    PARTIALLY_FILLED,
    POST_ONLY_WOULD_TAKE,
    REJECTED,
    STP_EXPIRED,
    USER_CANCELED,
    AmendRejected,
    Rested,
    StatusChanged,
    Triggered,
    Waiting,
)
from backend.domain.spot.orders import BUY, SELL, STP_EXPIRE_MAKER
from tests.unit.domain.spot.factories import (
    HoldTracker,
    an_engine,
    buy,
    drain,
    sell,
    status_of,
    statuses,
    trade_at,
    trades,
)


def a_sell_oco(engine: SpotEngine, hold: int = 200) -> None:
    """Sell 2 lots: limit leg 11 at 105, stop-market leg 12 at 95 (last is 100)."""
    engine.place_oco(11, 12, 10, SELL, 2, 105, 95, hold, 7)


def test_oco_rests_its_limit_leg_and_arms_its_stop_leg() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    drain(engine)
    # when
    a_sell_oco(engine)
    # then
    assert drain(engine) == [
        Rested("rested", 11, SELL, 105, 2, 3),
        Waiting("waiting", 12, SELL, 95, 0, 4),
    ]


def test_oco_needs_a_last_price() -> None:
    # given
    engine = an_engine()
    # when
    a_sell_oco(engine)
    # then
    assert drain(engine) == [
        StatusChanged("status", 11, REJECTED, NO_LAST_PRICE, 0, 200),
        StatusChanged("status", 12, REJECTED, NO_LAST_PRICE, 0, 0),
    ]


def test_oco_prices_must_straddle_the_last_price() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    drain(engine)
    # when: a sell whose limit is below last
    engine.place_oco(11, 12, 10, SELL, 2, 99, 95, 200, 7)
    engine.place_oco(13, 14, 10, BUY, 2, 99, 100, 30000, 7)
    # then
    events = drain(engine)
    assert {(e.order_id, e.reason) for e in statuses(events)} == {
        (11, OCO_PRICES_NOT_STRADDLING),
        (12, OCO_PRICES_NOT_STRADDLING),
        (13, OCO_PRICES_NOT_STRADDLING),
        (14, OCO_PRICES_NOT_STRADDLING),
    }
    assert engine.snapshot().orders == ()


def test_oco_limit_leg_that_would_take_rejects_the_pair() -> None:
    # given: last 100, but the best ask has since moved to 98 without trading
    engine = an_engine()
    trade_at(engine, 100)
    sell(engine, 1, 98, 1)
    drain(engine)
    # when
    engine.place_oco(11, 12, 10, BUY, 1, 99, 105, 20000, 7)
    # then
    assert status_of(drain(engine), 11) == [(REJECTED, POST_ONLY_WOULD_TAKE)]


def test_first_fill_of_the_limit_leg_ends_the_stop_leg() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    a_sell_oco(engine)
    drain(engine)
    # when
    buy(engine, 1, 105, 1)
    # then
    events = drain(engine)
    assert [(t.maker_id, t.lots) for t in trades(events)] == [(11, 1)]
    assert status_of(events, 11) == [(PARTIALLY_FILLED, "")]
    assert status_of(events, 12) == [(EXPIRED, OCO_SIBLING_FILLED)]
    assert engine.snapshot().stops == ()


def test_stop_trigger_ends_the_limit_leg_before_the_stop_executes() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    a_sell_oco(engine)
    buy(engine, 1, 95, 1)
    buy(engine, 2, 94, 5)
    drain(engine)
    # when
    sell(engine, 3, 95, 1, now=9)
    # then
    events = drain(engine)
    leg_end = events.index(StatusChanged("status", 11, EXPIRED, OCO_SIBLING_TRIGGERED, 0, 0))
    fired = events.index(Triggered("triggered", 12, 95, 200, 9))
    assert leg_end < fired
    assert [(t.taker_id, t.price, t.lots) for t in trades(events)] == [(3, 95, 1), (12, 94, 2)]
    assert status_of(events, 12) == [(FILLED, "")]
    assert engine.book_levels(5) == ([(94, 3)], [])


def test_canceling_either_leg_cancels_both_and_releases_the_one_hold() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    a_sell_oco(engine)
    drain(engine)
    # when
    engine.cancel(12, 8)
    # then
    assert sorted(drain(engine)) == sorted([
        StatusChanged("status", 12, CANCELED, USER_CANCELED, 0, 0),
        StatusChanged("status", 11, CANCELED, USER_CANCELED, 0, 200),
    ])  # fmt: skip
    assert engine.snapshot().orders == () and engine.snapshot().stops == ()


def test_buy_oco_shared_hold_balances_when_the_limit_leg_fills() -> None:
    # given: hold covers the stop-limit leg's higher price (106)
    engine = an_engine()
    trade_at(engine, 100)
    drain(engine)
    tracker = HoldTracker()
    tracker.placed(11, 106 * 2 * 100, sibling=12)
    tracker.placed(1, 200)
    engine.place_oco(11, 12, 10, BUY, 2, 95, 105, 106 * 2 * 100, 7, stop_limit_price=106)
    # when
    sell(engine, 1, 95, 2)
    # then
    events = engine.take_events()
    tracker.apply(events)
    tracker.check_balanced()
    assert tracker.used[11] == 106 * 2 * 100


def test_stp_expiring_the_limit_leg_ends_the_stop_leg() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    a_sell_oco(engine)
    drain(engine)
    # when
    buy(engine, 1, 105, 1, owner=10, stp=STP_EXPIRE_MAKER)
    # then
    events = drain(engine)
    assert status_of(events, 11) == [(EXPIRED, STP_EXPIRED)]
    assert status_of(events, 12) == [(EXPIRED, OCO_SIBLING_ENDED)]


def test_amending_a_linked_leg_is_rejected() -> None:
    # given
    engine = an_engine()
    trade_at(engine, 100)
    a_sell_oco(engine)
    drain(engine)
    # when
    engine.amend(11, 1, 8)
    # then
    assert drain(engine) == [AmendRejected("amend_rejected", 11, AMEND_OCO_UNSUPPORTED)]
