"""Fuzz tests: generated GraphQL documents against the real server."""
