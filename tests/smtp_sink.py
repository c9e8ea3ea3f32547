"""A real SMTP server (aiosmtpd) in the test process that keeps every message it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class SmtpSink:
    messages: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"

    @property
    def port(self) -> int:
        assert self.controller is not None
        return int(self.controller.port)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return self.to(address)


def start_smtp_sink(port: int) -> SmtpSink:
    sink = SmtpSink()
    sink.controller = Controller(sink, hostname="127.0.0.1", port=port)
    sink.controller.start()
    return sink
