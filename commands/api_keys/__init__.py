"""API keys for bots: create (secret shown once), revoke, market-maker tier."""
