"""Ledger read models: account statements and balances."""
