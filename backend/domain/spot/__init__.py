"""Spot matching engine core: pure, deterministic, integer ticks / lots / minor units.

Public surface: SpotEngine (engine.py), the order vocabulary (orders.py), event records and their
views (events.py), snapshot records (snapshot.py), MarketSpec and conversions (units.py) and the
entry filters (filters.py).
"""
