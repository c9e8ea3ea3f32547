"""Candle buckets and OHLCV folding, the ticker's arithmetic, and the live-book sequence rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from projections.spot.candles import (
    INTERVALS,
    Tick,
    bucket_start,
    decode_candle,
    decode_ticker,
    encode_candle,
    encode_ticker,
    fold,
    ticks_of,
)
from projections.spot.order_book import BookSequencer, Verdict, latest_levels
from queries.market_data import CandleView, TickerView

D = Decimal
AT = datetime(2026, 11, 25, 3, 58, 41, 123456, tzinfo=UTC)
BUCKET = datetime(2026, 11, 25, 3, 58, tzinfo=UTC)


def a_tick(sequence: int, price: str, quantity: str = "1") -> Tick:
    return Tick(sequence, D(price), D(quantity), D(price) * D(quantity))


def a_candle(**overrides: object) -> CandleView:
    fields: dict[str, object] = {
        "market": "BTC-USDT",
        "interval": "M1",
        "bucket": BUCKET,
        "open": D("100"),
        "high": D("110"),
        "low": D("90"),
        "close": D("105"),
        "volume": D("3"),
        "quote_volume": D("315"),
        "trades": 3,
        "sequence": 10,
    }
    return CandleView(**{**fields, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("M1", datetime(2026, 11, 25, 3, 58, tzinfo=UTC)),
        ("M5", datetime(2026, 11, 25, 3, 55, tzinfo=UTC)),
        ("M15", datetime(2026, 11, 25, 3, 45, tzinfo=UTC)),
        ("H1", datetime(2026, 11, 25, 3, 0, tzinfo=UTC)),
        ("H4", datetime(2026, 11, 25, 0, 0, tzinfo=UTC)),
        ("D1", datetime(2026, 11, 25, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_timestamp_falls_in_the_bucket_starting_at_its_floor(
    interval: str, expected: datetime
) -> None:
    assert bucket_start(AT, interval) == expected


@pytest.mark.parametrize("interval", list(INTERVALS))
def test_a_bucket_starts_at_its_own_start(interval: str) -> None:
    # given
    start = bucket_start(AT, interval)
    # then
    assert bucket_start(start, interval) == start
    assert bucket_start(start - timedelta(microseconds=1), interval) == start - INTERVALS[interval]
    assert bucket_start(start + INTERVALS[interval], interval) == start + INTERVALS[interval]


def test_buckets_are_in_utc_whatever_the_offset_of_the_timestamp() -> None:
    # given: 05:10 at +05:00 is 00:10 UTC
    at = datetime(2026, 11, 25, 5, 10, tzinfo=timezone(timedelta(hours=5)))
    # then
    assert bucket_start(at, "H4") == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert bucket_start(at, "D1") == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert bucket_start(at, "D1").utcoffset() == timedelta(0)


def test_a_timestamp_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        bucket_start(datetime(2026, 11, 25, 3, 58), "M1")


def test_a_batch_trades_come_in_sequence_order() -> None:
    # given
    trades = [
        {"sequence": 7, "price": "2", "quantity": "1", "quote_quantity": "2"},
        {"sequence": 5, "price": "1", "quantity": "3", "quote_quantity": "3"},
    ]
    # then
    assert ticks_of(trades) == [Tick(5, D(1), D(3), D(3)), Tick(7, D(2), D(1), D(2))]


def test_the_first_trades_of_a_bucket_open_a_candle() -> None:
    # when
    candle = fold(
        None,
        "BTC-USDT",
        "M1",
        BUCKET,
        [a_tick(4, "100"), a_tick(6, "120", "2"), a_tick(8, "95", "0.5")],
    )
    # then
    assert candle == CandleView(
        "BTC-USDT",
        "M1",
        BUCKET,
        D("100"),
        D("120"),
        D("95"),
        D("95"),
        D("3.5"),
        D("387.5"),
        3,
        8,
    )


def test_later_trades_extend_a_candle_and_keep_its_open() -> None:
    # when
    candle = fold(a_candle(), "BTC-USDT", "M1", BUCKET, [a_tick(11, "111"), a_tick(12, "89")])
    # then
    assert candle == a_candle(
        high=D("111"),
        low=D("89"),
        close=D("89"),
        volume=D("5"),
        quote_volume=D("515"),
        trades=5,
        sequence=12,
    )


def test_trades_at_or_below_the_candle_sequence_are_already_in_it() -> None:
    # given
    previous = a_candle()
    # when
    again = fold(previous, "BTC-USDT", "M1", BUCKET, [a_tick(9, "500"), a_tick(10, "1")])
    partly = fold(previous, "BTC-USDT", "M1", BUCKET, [a_tick(10, "1"), a_tick(11, "104")])
    # then
    assert again is previous
    assert partly == a_candle(
        close=D("104"), volume=D("4"), quote_volume=D("419"), trades=4, sequence=11
    )


def test_no_trades_make_no_candle() -> None:
    assert fold(None, "BTC-USDT", "M1", BUCKET, []) is None


def test_candles_and_tickers_survive_their_json_form() -> None:
    # given
    candle = a_candle(open=D("100.50"), volume=D("0.00100000"))
    ticker = TickerView("BTC-USDT", AT, 10, D("1"), D("2"), D("0.5"), D("1.5"), D("3"), D("4"), 2)
    empty = TickerView("BTC-USDT", AT, 0, None, None, None, None, D(0), D(0), 0)
    # then
    assert decode_candle(encode_candle(candle)) == candle
    assert decode_ticker(encode_ticker(ticker)) == ticker
    assert decode_ticker(encode_ticker(empty)) == empty


def test_the_ticker_change_is_last_minus_open() -> None:
    # given
    ticker = TickerView("X-Y", AT, 1, D("200"), D("260"), D("150"), D("250"), D(1), D(1), 1)
    # then
    assert ticker.change == D("50")
    assert ticker.change_percent == D("25")


def test_a_ticker_without_prices_has_no_change() -> None:
    # given
    never = TickerView("X-Y", AT, 0, None, None, None, None, D(0), D(0), 0)
    from_zero = TickerView("X-Y", AT, 1, D(0), D(1), D(0), D(1), D(1), D(1), 1)
    # then
    assert never.change is None and never.change_percent is None
    assert from_zero.change == D(1) and from_zero.change_percent is None


def test_the_last_entry_for_a_level_wins() -> None:
    # given
    entries = [
        {"sequence": 9, "side": "BUY", "price": "10.0", "quantity": "0"},
        {"sequence": 7, "side": "BUY", "price": "10", "quantity": "4"},
        {"sequence": 3, "side": "SELL", "price": "11", "quantity": "1"},
    ]
    # then
    assert latest_levels(entries, 0) == {("BUY", D(10)): D(0), ("SELL", D(11)): D(1)}
    assert latest_levels(entries, 7) == {("BUY", D(10)): D(0)}


def test_a_delta_right_after_the_book_continues_it() -> None:
    # given
    sequencer = BookSequencer(100)
    # then
    assert sequencer.verdict(103, [101, 102, 103]) is Verdict.NEXT
    assert sequencer.verdict(100, [99, 100]) is Verdict.STALE


def test_numbers_skipped_by_a_delta_must_be_its_trades() -> None:
    # given: batch 101..104 = trade 101, book 102, trade 103, book 104
    sequencer = BookSequencer(100)
    # when the book delta comes before its trades
    before = sequencer.verdict(104, [102, 104])
    sequencer.note_trades(104, [101, 103])
    # then
    assert before is Verdict.WAIT
    assert sequencer.verdict(104, [102, 104]) is Verdict.NEXT


def test_a_skipped_book_change_is_a_gap() -> None:
    # given: the batch 101..102 never arrived; batch 103..105 = trade 103, book 104, 105
    sequencer = BookSequencer(100)
    sequencer.note_trades(105, [103])
    # then
    assert sequencer.verdict(105, [104, 105]) is Verdict.GAP


def test_advancing_forgets_the_trades_behind() -> None:
    # given
    sequencer = BookSequencer(100)
    sequencer.note_trades(104, [101, 103])
    # when
    sequencer.advance(104)
    # then
    assert sequencer.trades == set()
    assert sequencer.verdict(106, [105, 106]) is Verdict.NEXT
