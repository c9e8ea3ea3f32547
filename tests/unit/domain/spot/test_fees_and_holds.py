"""Fees to the last minor unit (half-up, from the asset received) and hold accounting."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from backend.domain.spot.events import BASE_ASSET, FILLED, QUOTE_ASSET, StatusChanged
from backend.domain.spot.units import fee_units
from tests.unit.domain.spot.factories import (
    HoldTracker,
    an_engine,
    buy,
    buy_hold,
    drain,
    sell,
    sell_hold,
    trades,
)


def test_fee_rounds_half_up_to_a_whole_minor_unit() -> None:
    # given
    rate = Fraction(1, 1000)
    # when
    fees = [fee_units(units, rate) for units in (499, 500, 1500, 2500, 2499, 0)]
    # then: 0.499 -> 0, 0.5 -> 1, 1.5 -> 2, 2.5 -> 3 (not to even), 2.499 -> 2
    assert fees == [0, 1, 2, 3, 2, 0]


def test_buyer_taker_pays_in_base_and_seller_maker_in_quote() -> None:
    # given: maker 0.1 %, taker 0.5 %
    engine = an_engine(maker_fee=Decimal("0.001"), taker_fee=Decimal("0.005"))
    sell(engine, 1, 5, 1)
    # when
    buy(engine, 2, 5, 1)
    # then: seller receives 500 quote units -> 0.5 -> 1; buyer 100 base units -> 0.5 -> 1
    [trade] = trades(drain(engine))
    assert (trade.quote_units, trade.base_units) == (500, 100)
    assert (trade.maker_fee, trade.maker_fee_asset) == (1, QUOTE_ASSET)
    assert (trade.taker_fee, trade.taker_fee_asset) == (1, BASE_ASSET)


def test_seller_taker_pays_in_quote_and_buyer_maker_in_base() -> None:
    # given
    engine = an_engine(maker_fee=Decimal("0.001"), taker_fee=Decimal("0.005"))
    buy(engine, 1, 25, 1)
    # when
    sell(engine, 2, 25, 1)
    # then: seller gets 2500 quote units -> 12.5 -> 13; buyer 100 base units -> 0.1 -> 0
    [trade] = trades(drain(engine))
    assert (trade.taker_fee, trade.taker_fee_asset) == (13, QUOTE_ASSET)
    assert (trade.maker_fee, trade.maker_fee_asset) == (0, BASE_ASSET)


def test_fees_are_exact_for_every_lot_count() -> None:
    # given
    engine = an_engine(maker_fee=Decimal("0.00075"), taker_fee=Decimal("0.0013"))
    for lots in range(1, 40):
        sell(engine, 2 * lots, 7, lots)
        # when
        buy(engine, 2 * lots + 1, 7, lots)
        # then
        [trade] = trades(drain(engine))
        quote, base = 7 * lots * 100, lots * 100
        assert trade.maker_fee == int(Decimal(quote) * Decimal("0.00075") + Decimal("0.5"))
        assert trade.taker_fee == int(Decimal(base) * Decimal("0.0013") + Decimal("0.5"))


def test_limit_buy_filling_lower_releases_the_improvement_with_each_fill() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1)
    sell(engine, 2, 102, 2)
    drain(engine)
    # when
    buy(engine, 3, 105, 3)
    # then
    events = drain(engine)
    assert [(t.taker_consumed, t.taker_released) for t in trades(events)] == [
        (10000, 500),
        (20400, 600),
    ]
    assert events[-1] == StatusChanged("status", 3, FILLED, "", 3, 0)


def test_makers_consume_exactly_what_they_deliver() -> None:
    # given
    engine = an_engine()
    buy(engine, 1, 100, 2)
    sell(engine, 2, 101, 2)
    drain(engine)
    # when
    sell(engine, 3, 100, 2)
    buy(engine, 4, 101, 2)
    # then
    maker_uses = [(t.maker_id, t.maker_consumed, t.maker_released) for t in trades(drain(engine))]
    assert maker_uses == [(1, 20000, 0), (2, 200, 0)]


def test_excess_hold_comes_back_when_the_order_ends() -> None:
    # given
    engine = an_engine()
    sell(engine, 1, 100, 1)
    drain(engine)
    # when
    buy(engine, 2, 100, 1, hold=25000)
    # then
    assert drain(engine)[-1] == StatusChanged("status", 2, FILLED, "", 1, 15000)


def test_holds_balance_across_a_mixed_sequence() -> None:
    # given
    engine = an_engine()
    tracker = HoldTracker()
    orders = [
        (1, "sell", 101, 3),
        (2, "sell", 100, 2),
        (3, "buy", 99, 4),
        (4, "buy", 103, 4),
        (5, "sell", 98, 6),
        (6, "buy", 100, 1),
    ]
    # when
    for oid, side, price, lots in orders:
        if side == "buy":
            tracker.placed(oid, buy_hold(price, lots))
            buy(engine, oid, price, lots)
        else:
            tracker.placed(oid, sell_hold(lots))
            sell(engine, oid, price, lots)
        tracker.apply(engine.take_events())
    for oid, *_ in orders:
        engine.cancel(oid, 9)
    tracker.apply(engine.take_events())
    # then
    tracker.check_balanced()
    assert all(not legs for legs in tracker.open_legs.values())
