"""Account commands: registration, login sessions, the bootstrap admin."""
