"""The matcher process: one live writer per market, feeding the pure engine (backend.domain.spot)
from the event log and writing each batch's effects in one transaction."""
