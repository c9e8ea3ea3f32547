"""What a projection is: a name, the event types it reads, how it applies them, what it owns.

A projection applies the log a window at a time, in one transaction with its checkpoint, in
one of two ways:
* `EventsProjection.apply_events` gets the window's events decoded (folds that need Python);
* `WindowProjection.apply_window` gets only the window's bounds and reads the stored payloads in
  SQL itself (set-based statements over `events`: nothing decoded or sent back and forth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import Checkpoint, StoredEvent


@dataclass
class Outbox:
    """Messages a projection wants published once its transaction has committed."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    # False when nothing will be published (a rebuild): a projection may then skip the work
    # that only its messages need.
    live: bool = True

    def publish(self, channel: str, payload: bytes) -> None:
        self.messages.append((channel, payload))


@dataclass(frozen=True)
class Window:
    """The events of a projection's types after `after` up to and including `until`, all of
    them visible (their transactions ended before the window was read)."""

    after: Checkpoint
    until: Checkpoint

    # Selects the window's rows of `events` (aliased `e`) by an index range scan.
    CONDITION = (
        "(e.xact_id, e.position) > (CAST(:after_xact_id AS text)::xid8, :after_position)"
        " AND (e.xact_id, e.position) <= (CAST(:until_xact_id AS text)::xid8, :until_position)"
    )

    def params(self) -> dict[str, object]:
        """The bind parameters of `CONDITION`."""
        return {
            "after_xact_id": str(self.after.xact_id),
            "after_position": self.after.position,
            "until_xact_id": str(self.until.xact_id),
            "until_position": self.until.position,
        }


class _Named(Protocol):
    name: str
    tables: tuple[Table, ...]
    event_types: tuple[str, ...]


@runtime_checkable
class EventsProjection(_Named, Protocol):
    async def apply_events(
        self, conn: AsyncConnection, events: list[StoredEvent], outbox: Outbox
    ) -> None: ...


@runtime_checkable
class WindowProjection(_Named, Protocol):
    async def apply_window(self, conn: AsyncConnection, window: Window, outbox: Outbox) -> None: ...


Projection = EventsProjection | WindowProjection
