"""Who and what a unit of work runs for: carried in a ContextVar into logs and event metadata."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    actor_id: str | None = None
    ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.request_id:
            meta["request_id"] = self.request_id
        if self.actor_id:
            meta["actor_id"] = self.actor_id
        if self.ip:
            meta["ip"] = self.ip
        return meta


_EMPTY = RequestContext()
current_request: ContextVar[RequestContext] = ContextVar("current_request", default=_EMPTY)
