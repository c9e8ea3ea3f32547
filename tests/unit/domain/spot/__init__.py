"""Unit tests of the spot matching engine."""
