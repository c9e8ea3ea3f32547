"""Property test over random order streams of every kind, checked after every step.

Invariants: the book is never crossed; no hold is ever over-used and each balances exactly once
its orders have ended; every trade moves exactly price x lots of quote against lots of base with
fees taken from what each side receives; an order ends at most once; and an engine rebuilt from a
snapshot, fed the remaining inputs, emits the same events and reaches the same digest.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.spot.engine import SpotEngine
from backend.domain.spot.events import STATUS, TRADE, EventRecord, StatusChanged, Trade
from backend.domain.spot.orders import BUY, FOK, GTC, IOC, SELL
from tests.unit.domain.spot.factories import LOT, TERMINAL, TICK_LOT, HoldTracker, a_spec

SPEC = a_spec(market_protection=Decimal("0.03"))
owners = st.integers(1, 3)
sides = st.sampled_from([BUY, SELL])
prices = st.integers(96, 104)
lots = st.integers(1, 5)
stp_modes = st.integers(0, 3)

limit_cmd = st.tuples(
    st.just("limit"), sides, prices, lots, owners, st.sampled_from([GTC, GTC, IOC, FOK]),
    st.booleans(), stp_modes,
)  # fmt: skip
market_cmd = st.tuples(
    st.just("market"), sides, lots, owners, st.integers(0, 3) , stp_modes, st.integers(0, 60_000)
)  # fmt: skip
offsets = st.integers(-4, 4)  # stop and OCO prices are set relative to the last price
stop_cmd = st.tuples(
    st.just("stop"), sides, offsets, st.one_of(st.just(0), offsets), lots, owners, stp_modes
)
distances = st.integers(-1, 4)  # mostly straddling the last price, sometimes not
oco_cmd = st.tuples(
    st.just("oco"), sides, distances, distances, st.one_of(st.just(0), offsets), lots, owners
)
cancel_cmd = st.tuples(st.just("cancel"), st.integers(0, 10_000))
amend_cmd = st.tuples(st.just("amend"), st.integers(0, 10_000), st.integers(0, 6))
cancel_all_cmd = st.tuples(st.just("cancel_all"), owners)
commands = st.lists(
    st.one_of(limit_cmd, limit_cmd, limit_cmd, limit_cmd, market_cmd, stop_cmd, stop_cmd,
              oco_cmd, oco_cmd, cancel_cmd, amend_cmd, cancel_all_cmd),
    min_size=10,
    max_size=60,
)  # fmt: skip


def opening(seed: int) -> list[tuple[Any, ...]]:
    """Mostly a book around 100 and a first trade at 100 (stops and OCOs need a last price)."""
    if not seed:
        return []
    book = [("limit", BUY, 100 - i, 2, 9, GTC, False, 3) for i in (1, 2, 3)]
    book += [("limit", SELL, 100 + i, 2, 9, GTC, False, 3) for i in (1, 2, 3)]
    return [
        *book,
        ("limit", SELL, 100, 1, 9, GTC, False, 3),
        ("limit", BUY, 100, 1, 8, GTC, False, 3),
    ]


def resolve(cmd: tuple[Any, ...], ids: list[int]) -> tuple[Any, ...] | None:
    """Turn a cancel/amend index into one of the ids used so far (None if there is none)."""
    if cmd[0] in ("cancel", "amend"):
        if not ids:
            return None
        return (cmd[0], ids[cmd[1] % len(ids)], *cmd[2:])
    return cmd


def apply(engine: SpotEngine, step: int, cmd: tuple[Any, ...]) -> list[tuple[int, int, int]]:
    """Run one command; returns the holds it placed as (order id, hold, OCO sibling id or 0)."""
    oid, now = 2 * step + 1, 1000 + step
    kind = cmd[0]
    if kind == "limit":
        _, side, price, qty, owner, tif, post_only, stp = cmd
        hold = price * qty * TICK_LOT if side == BUY else qty * LOT
        engine.place_limit(oid, owner, side, price, qty, hold, now, tif, post_only, stp)
    elif kind == "market":
        _, side, qty, owner, extra, stp, quote = cmd
        quote = 0 if quote % 3 == 0 else quote
        if side == BUY:
            hold = quote if quote else 110 * qty * TICK_LOT - extra * 3000
        else:
            hold = (qty + extra) * LOT
        engine.place_market(oid, owner, side, qty, hold, now, quote, stp)
    elif kind == "stop":
        _, side, stop, limit, qty, owner, stp = cmd
        last = engine.last_price or 100
        stop, limit = last + stop, last + limit if limit else 0
        hold = (limit or 110) * qty * TICK_LOT if side == BUY else qty * LOT
        engine.place_stop(oid, owner, side, qty, stop, hold, now, limit, GTC, stp)
    elif kind == "oco":
        _, side, price, stop, stop_limit, qty, owner = cmd
        last = engine.last_price or 100
        away = -1 if side == BUY else 1  # the limit leg sits on the far side of the stop leg
        price, stop = last + away * price, last - away * stop
        stop_limit = stop + stop_limit if stop_limit else 0
        hold = max(price, stop_limit) * qty * TICK_LOT if side == BUY else qty * LOT
        engine.place_oco(oid, oid + 1, owner, side, qty, price, stop, hold, now, stop_limit)
        return [(oid, hold, oid + 1)]
    elif kind == "cancel":
        engine.cancel(cmd[1], now)
        return []
    elif kind == "amend":
        engine.amend(cmd[1], cmd[2], now)
        return []
    else:
        engine.cancel_all(cmd[1], now)
        return []
    return [(oid, hold, 0)]


def check_trades_and_endings(events: list[EventRecord], ended: set[int]) -> None:
    for event in events:
        if event[0] == TRADE:
            trade = Trade._make(event)
            assert trade.quote_units == trade.price * trade.lots * TICK_LOT
            assert trade.base_units == trade.lots * LOT
            buyer_used = trade.taker_consumed if trade.taker_side == BUY else trade.maker_consumed
            seller_used = trade.maker_consumed if trade.taker_side == BUY else trade.taker_consumed
            # What the buyer pays is what the seller receives net plus the seller's fee, and
            # what the seller delivers is what the buyer receives net plus the buyer's fee.
            assert buyer_used == trade.quote_units
            assert seller_used == trade.base_units
            maker_gets = trade.quote_units if trade.taker_side == BUY else trade.base_units
            taker_gets = trade.base_units if trade.taker_side == BUY else trade.quote_units
            assert 0 <= trade.maker_fee <= maker_gets and 0 <= trade.taker_fee <= taker_gets
            assert trade.maker_released == 0 and trade.taker_released >= 0
            assert trade.maker_id not in ended and trade.taker_id not in ended
        elif event[0] == STATUS:
            change = StatusChanged._make(event)
            assert change.order_id not in ended
            if change.status in TERMINAL:
                ended.add(change.order_id)


def check_book(engine: SpotEngine) -> None:
    bids, asks = engine.book_levels(1)
    if bids and asks:
        assert bids[0][0] < asks[0][0], (bids, asks)
    snapshot = engine.snapshot()
    assert all(order.open_lots > 0 for order in snapshot.orders)
    all_bids, all_asks = engine.book_levels(10_000)
    assert sum(lots for _, lots in all_bids + all_asks) == sum(o.open_lots for o in snapshot.orders)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed_trade=st.integers(0, 9),
    script=commands,
    split=st.integers(0, 62),
)
def test_random_streams_keep_every_invariant(
    seed_trade: int, script: list[tuple[Any, ...]], split: int
) -> None:
    # given
    engine = SpotEngine(SPEC)
    tracker, ended, ids = HoldTracker(), set[int](), list[int]()
    replica: SpotEngine | None = None
    # when / then
    for step, raw in enumerate(opening(seed_trade) + script):
        if step == split:
            replica = SpotEngine.restore(SPEC, engine.snapshot())
            assert replica.state_digest() == engine.state_digest()
        cmd = resolve(raw, ids)
        if cmd is None:
            continue
        for oid, hold, sibling in apply(engine, step, cmd):
            tracker.placed(oid, hold, sibling=sibling or None)
            ids += [oid, sibling] if sibling else [oid]
        events = engine.take_events()
        if replica is not None:
            apply(replica, step, cmd)
            assert replica.take_events() == events
            assert replica.state_digest() == engine.state_digest()
        tracker.apply(events)
        tracker.check_balanced()
        check_trades_and_endings(events, ended)
        check_book(engine)
