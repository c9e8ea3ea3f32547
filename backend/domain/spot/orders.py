"""Order vocabulary of the engine (sides, time in force, STP modes) and its order record layout.

The engine keeps each working order as a tuple of ints indexed by the constants below (ids,
owners, ticks, lots, minor units). A tuple costs a fifth of a class instance to build, and a tuple
holding only ints is dropped from the cyclic garbage collector's lists at its first collection:
with a book of 100k orders in lists, the collector's passes alone took a quarter of the run time.
A change (fill, amend) builds a new tuple in the id -> record dict.
"""

from __future__ import annotations

from typing import Final

Rec = tuple[int, ...]
"""An order record: RESTING_FIELDS (book) or STOP_FIELDS (trigger book) ints, see below."""

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
"""0 in the LINK field means "not an OCO leg (any more)"; OCO legs need positive ids."""

# Fields of every order record (resting orders use exactly these).
OID: Final = 0
OWNER: Final = 1
SIDE: Final = 2
PRICE: Final = 3  # limit price in ticks; 0 for market orders and stop-markets
LOTS: Final = 4  # open (unfilled) lots
ORIG: Final = 5  # order quantity in lots (lowered by amend); filled = ORIG - LOTS
HOLD: Final = 6  # hold still locked for this order, minor units of the asset it spends
SEQ: Final = 7  # time priority: a smaller sequence was there first; unique per booking
LINK: Final = 8  # OCO sibling's order id, or NO_LINK
RESTING_FIELDS: Final = 9
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
