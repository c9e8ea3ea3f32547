"""Self-trade prevention: the taker's mode decides; owners are compared by id."""

from __future__ import annotations

from backend.domain.spot.events import EXPIRED, FILLED, STP_EXPIRED
from backend.domain.spot.orders import (
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
)
from tests.unit.domain.spot.factories import an_engine, buy, drain, sell, status_of, trades


def test_expire_taker_stops_the_taker_at_its_own_order() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1, owner=5)
    sell(engine, 2, 100, 1, owner=6)
    drain(engine)
    # when
    buy(engine, 3, 100, 2, owner=5, stp=STP_EXPIRE_TAKER)
    # then
    events = drain(engine)
    assert trades(events) == []
    assert status_of(events, 3) == [(EXPIRED, STP_EXPIRED)]
    assert engine.book_levels(5) == ([], [(100, 2)])


def test_expire_maker_removes_own_makers_and_keeps_matching() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1, owner=5)
    sell(engine, 2, 100, 1, owner=6)
    drain(engine)
    # when
    buy(engine, 3, 100, 1, owner=5, stp=STP_EXPIRE_MAKER)
    # then
    events = drain(engine)
    assert status_of(events, 1) == [(EXPIRED, STP_EXPIRED)]
    assert [t.maker_id for t in trades(events)] == [2]
    assert status_of(events, 3) == [(FILLED, "")]
    assert engine.book_levels(5) == ([], [])


def test_expire_both_expires_maker_and_taker() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1, owner=6)
    sell(engine, 2, 100, 1, owner=5)
    sell(engine, 3, 100, 1, owner=6)
    drain(engine)
    # when
    buy(engine, 4, 100, 3, owner=5, stp=STP_EXPIRE_BOTH)
    # then
    events = drain(engine)
    assert [t.maker_id for t in trades(events)] == [1]
    assert status_of(events, 2) == [(EXPIRED, STP_EXPIRED)]
    assert status_of(events, 4) == [(EXPIRED, STP_EXPIRED)]
    assert engine.book_levels(5) == ([], [(100, 1)])


def test_none_lets_an_owner_trade_with_itself() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1, owner=5)
    drain(engine)
    # when
    buy(engine, 2, 100, 1, owner=5, stp=STP_NONE)
    # then
    [trade] = trades(drain(engine))
    assert trade.maker_owner == trade.taker_owner == 5


def test_stp_releases_the_expired_orders_holds() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 3, owner=5)
    drain(engine)
    # when
    buy(engine, 2, 101, 2, owner=5, stp=STP_EXPIRE_BOTH)
    # then
    events = drain(engine)
    released = {e.order_id: e.released for e in events if e.kind == "status"}  # type: ignore[union-attr]
    assert released == {1: 300, 2: 101 * 2 * 100}
