"""Credentials: password hashing and session tokens, on well-kept libraries only."""
