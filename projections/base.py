"""What a projection is: a name, the event types it reads, how it applies one, what it owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import StoredEvent


@dataclass
class Outbox:
    """Messages a projection wants published once its transaction has committed."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, channel: str, payload: bytes) -> None:
        self.messages.append((channel, payload))


Apply = Callable[[AsyncConnection, StoredEvent, Outbox], Awaitable[None]]
ApplyBatch = Callable[[AsyncConnection, list[StoredEvent], Outbox], Awaitable[None]]
"""Optional `apply_batch` of a projection: a whole batch of its events in a few set-based
statements instead of one round trip per event (the runner prefers it when present)."""


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]
    handlers: dict[str, Apply]  # event_type -> apply function
