"""Spot commands: place, cancel and amend orders. They hold funds and sequence requests; the
matcher decides everything that needs the book."""
