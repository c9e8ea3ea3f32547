"""Order vocabulary of the engine (sides, time in force, STP modes) and its order record layout.

The engine keeps each working order as a plain `list[int]` indexed by the constants below: building
and indexing a list is several times cheaper than a class instance on the hot path, and every field
is an integer (ids, owners, ticks, lots, minor units).
"""

from __future__ import annotations

from typing import Final

BUY: Final = 0
SELL: Final = 1

GTC: Final = 0
IOC: Final = 1
FOK: Final = 2

# Self-trade prevention, decided by the taker's mode; owners are compared by id.
STP_EXPIRE_TAKER: Final = 0
STP_EXPIRE_MAKER: Final = 1
STP_EXPIRE_BOTH: Final = 2
STP_NONE: Final = 3

NO_LINK: Final = 0
"""Order ids are positive; 0 in the LINK field means "not an OCO leg (any more)"."""

# Fields of every order record (resting orders use exactly these).
OID: Final = 0
OWNER: Final = 1
SIDE: Final = 2
PRICE: Final = 3  # limit price in ticks; 0 for market orders and stop-markets
LOTS: Final = 4  # open (unfilled) lots; 0 marks a canceled record left in a level (lazy removal)
ORIG: Final = 5  # order quantity in lots (lowered by amend); filled = ORIG - LOTS
HOLD: Final = 6  # hold still locked for this order, minor units of the asset it spends
SEQ: Final = 7  # time priority: a smaller sequence was there first
LINK: Final = 8  # OCO sibling's order id, or NO_LINK
# Extra fields of a waiting stop record.
STOP: Final = 9  # trigger price in ticks
RISES: Final = 10  # 1: triggers when last >= STOP; 0: triggers when last <= STOP
TIF: Final = 11  # time in force once triggered; MARKET_TIF for a stop-market
STP: Final = 12  # STP mode once triggered
STOP_FIELDS: Final = 13

MARKET_TIF: Final = -1
"""TIF field value of a stop that becomes a MARKET order."""


def side_name(side: int) -> str:
    return "BUY" if side == BUY else "SELL"
