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


def test_records_in_book_order_rebuild_the_same_engine_as_a_snapshot() -> None:
    # given: the busy engine's resting records grouped by level and in time priority
    engine = a_busy_engine()
    snapshot = engine.snapshot()
    book = sorted((o.record() for o in snapshot.orders), key=lambda r: (r[2], r[3], r[7]))
    stops = [s.record() for s in snapshot.stops]
    # when
    rebuilt = SpotEngine.from_records(a_spec(), book, stops, snapshot.last_price, 0)
    # then
    assert rebuilt.state_digest() == engine.state_digest()
    assert rebuilt.book_levels(5) == engine.book_levels(5)


def test_a_level_met_again_later_is_put_back_in_time_priority() -> None:
    # given: level 99 appears in two runs, the later run holding the older order
    book = [
        RestingOrder(1, 1, BUY, 99, 1, 1, 9900, seq=7).record(),
        RestingOrder(2, 2, BUY, 98, 1, 1, 9800, seq=6).record(),
        RestingOrder(3, 3, BUY, 99, 2, 2, 19800, seq=4).record(),
    ]
    engine = SpotEngine.from_records(a_spec(), book, [], 100, 5)
    # when
    sell(engine, 4, 99, 2)
    # then: the older order at 99 trades first; the sequence continues after the largest seq
    assert [e.maker_id for e in drain(engine) if e.kind == "trade"] == [3]  # type: ignore[union-attr]
    assert engine.last_seq == 8
    assert engine.book_levels(5)[0] == [(99, 1), (98, 1)]


def test_a_level_out_of_time_priority_is_sorted_by_seq() -> None:
    # given: one run for level 99, its orders not in time priority
    book = [
        RestingOrder(1, 1, BUY, 99, 1, 1, 9900, seq=7).record(),
        RestingOrder(2, 2, BUY, 99, 1, 1, 9900, seq=3).record(),
    ]
    engine = SpotEngine.from_records(a_spec(), book, [], 100, 7)
    # when
    sell(engine, 3, 99, 1)
    # then
    assert [e.maker_id for e in drain(engine) if e.kind == "trade"] == [2]  # type: ignore[union-attr]
