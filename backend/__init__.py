"""Exchange backend: composition root and shared kernel (settings, database, domain, API)."""
