"""Persistence: table definitions, engine factory, event store, ledger postings."""
