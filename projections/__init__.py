"""Read models built from the event log, each with its checkpoint in the same transaction."""
