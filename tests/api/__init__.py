"""tests api package."""
