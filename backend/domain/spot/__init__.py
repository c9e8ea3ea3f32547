"""Spot matching engine core: pure, deterministic, in integer ticks / lots / minor units.

Modules (import from them directly; this package re-exports nothing):
* engine.py   SpotEngine: place_limit / place_market / place_stop / place_oco / cancel / amend /
              cancel_all, book_levels, snapshot / restore / state_digest, take_events.
* events.py   the event tuples it emits, their NamedTuple views (`decode`), status and reason codes.
* orders.py   sides, time in force, STP modes; the int-tuple order record layout.
* units.py    MarketSpec (from Decimal config) and exact Decimal <-> ticks / lots / units helpers.
* filters.py  entry filters (PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE) for handlers.
* snapshot.py RestingOrder / WaitingStop / EngineSnapshot records and the digest.
* core.py, taking.py, conditional.py, book.py: the engine's internals, by concern.

Contract: the caller assigns order ids (ints, unique among working orders; OCO legs positive),
passes `now` to every call, locks `hold` before placing, and settles the ledger from the events.
"""
