"""Snapshot records of an engine's working orders, and the digest replay tests compare."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from backend.domain.spot.orders import (
    HOLD,
    LINK,
    LOTS,
    NO_LINK,
    OID,
    ORIG,
    OWNER,
    PRICE,
    RISES,
    SEQ,
    SIDE,
    STOP,
    STP,
    TIF,
    Rec,
)


class RestingOrder(NamedTuple):
    """An order working on the book. `seq` orders time priority within a price level."""

    order_id: int
    owner: int
    side: int
    price: int
    open_lots: int
    total_lots: int
    hold: int
    seq: int
    oco_stop_id: int = NO_LINK

    def record(self) -> Rec:
        return (
            self.order_id, self.owner, self.side, self.price, self.open_lots, self.total_lots,
            self.hold, self.seq, self.oco_stop_id,
        )  # fmt: skip


class WaitingStop(NamedTuple):
    """A stop in the trigger book. limit_price 0 / tif MARKET_TIF (-1) = stop-market.
    An OCO stop leg has hold 0 (the pair's hold sits on its limit leg) and oco_limit_id set."""

    order_id: int
    owner: int
    side: int
    stop_price: int
    rises: int
    limit_price: int
    tif: int
    stp: int
    lots: int
    hold: int
    seq: int
    oco_limit_id: int = NO_LINK

    def record(self) -> Rec:
        return (
            self.order_id, self.owner, self.side, self.limit_price, self.lots, self.lots,
            self.hold, self.seq, self.oco_limit_id, self.stop_price, self.rises, self.tif,
            self.stp,
        )  # fmt: skip


class EngineSnapshot(NamedTuple):
    """Everything needed to rebuild an engine between calls. Orders are listed bids first
    (best price, then time), then asks; stops by arrival."""

    last_price: int | None
    last_seq: int
    orders: tuple[RestingOrder, ...]
    stops: tuple[WaitingStop, ...]


def resting_order(rec: Rec) -> RestingOrder:
    return RestingOrder(
        rec[OID], rec[OWNER], rec[SIDE], rec[PRICE], rec[LOTS], rec[ORIG], rec[HOLD], rec[SEQ],
        rec[LINK],
    )  # fmt: skip


def waiting_stop(rec: Rec) -> WaitingStop:
    return WaitingStop(
        rec[OID], rec[OWNER], rec[SIDE], rec[STOP], rec[RISES], rec[PRICE], rec[TIF], rec[STP],
        rec[LOTS], rec[HOLD], rec[SEQ], rec[LINK],
    )  # fmt: skip


def digest(snapshot: EngineSnapshot) -> str:
    """SHA-256 of the snapshot's canonical text: equal digests mean equal engine state."""
    return hashlib.sha256(repr(tuple(snapshot)).encode()).hexdigest()
