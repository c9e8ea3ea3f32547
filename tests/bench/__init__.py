"""Tiny runs of every benchmark, so none rots."""
