"""Snapshot / restore, book levels and the state digest."""

from __future__ import annotations

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.orders import BUY, SELL
from backend.domain.spot.snapshot import EngineSnapshot, RestingOrder
from tests.unit.domain.spot.factories import a_spec, an_engine, buy, drain, sell, trade_at


def a_busy_engine() -> SpotEngine:
    engine = an_engine()
    trade_at(engine, 100)
    buy(engine, 1, 99, 3)
    buy(engine, 2, 99, 2)
    buy(engine, 3, 97, 1)
    sell(engine, 4, 101, 4)
    sell(engine, 5, 103, 1)
    engine.place_stop(6, 6, SELL, 2, 95, 200, 1, limit_price=94)
    engine.place_oco(7, 8, 7, SELL, 1, 104, 96, 100, 1)
    engine.cancel(2, 1)
    engine.take_events()
    return engine


def test_book_levels_aggregate_live_lots_best_first() -> None:
    # given
    engine = a_busy_engine()
    # when
    levels = engine.book_levels(2)
    # then
    assert levels == ([(99, 3), (97, 1)], [(101, 4), (103, 1)])


def test_restored_engine_has_the_same_digest_and_behaves_the_same() -> None:
    # given
    engine = a_busy_engine()
    copy = SpotEngine.restore(a_spec(), engine.snapshot())
    # when
    for each in (engine, copy):
        sell(each, 20, 95, 10, now=5)
        buy(each, 21, 104, 3, now=6)
    # then
    assert copy.state_digest() == engine.state_digest()
    assert drain(copy) == drain(engine)


def test_restore_takes_priority_from_seq_not_list_order() -> None:
    # given
    snapshot = EngineSnapshot(
        last_price=100,
        last_seq=9,
        orders=(
            RestingOrder(2, 2, BUY, 99, 1, 1, 9900, seq=8),
            RestingOrder(1, 1, BUY, 99, 1, 1, 9900, seq=5),
        ),
        stops=(),
    )
    engine = SpotEngine.restore(a_spec(), snapshot)
    # when
    sell(engine, 3, 99, 1)
    # then
    assert [e.maker_id for e in drain(engine) if e.kind == "trade"] == [1]  # type: ignore[union-attr]


def test_digest_changes_with_state() -> None:
    # given
    engine = a_busy_engine()
    before = engine.state_digest()
    # when
    engine.amend(1, 2, 9)
    # then
    assert engine.state_digest() != before
    assert len(before) == 64
