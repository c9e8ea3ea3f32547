"""A lean graphql-transport-ws subscriber for the subscriptions bench.

The `websockets` library's sans-I/O protocol on a plain `asyncio.Protocol`: each incoming
message costs the subscriber process a frame parse and a JSON decode in `data_received`, with no
task switch per message. A thousand subscribers share the machine with the server under test,
so every microsecond the client spends per message is one the server does not get.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

OnNext = Callable[[dict[str, Any], float], None]
"""Called with a `next` message's payload and the time its bytes arrived (epoch seconds)."""


class GraphQLSubscriber(asyncio.Protocol):
    """One WebSocket running one subscription: handshake, connection_init, subscribe, then
    `next` messages to `on_next`. `subscribed` resolves once the subscribe is sent; `closed`
    resolves when the connection ends, with the reason if it ended abnormally."""

    def __init__(
        self,
        url: str,
        init_payload: dict[str, Any],
        subscribe_payload: dict[str, Any],
        on_next: OnNext,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.ws = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
        )
        self.init_payload = init_payload
        self.subscribe_payload = subscribe_payload
        self.on_next = on_next
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str | None] = loop.create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        arrived = time.time()  # float-ok: wall-clock timestamp, compared with the server's
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._end(f"handshake: {self.ws.handshake_exc}")
                    return
                self._send({"type": "connection_init", "payload": self.init_payload})
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(orjson.loads(event.data), arrived)
        self._flush()
        if self.ws.close_expected():
            self._end(f"closed by the server: {self.ws.close_rcvd}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"connection lost: {exc}" if exc else "connection closed")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _message(self, message: dict[str, Any], arrived: float) -> None:
        kind = message.get("type")
        if kind == "next":
            self.on_next(message.get("payload") or {}, arrived)
        elif kind == "connection_ack":
            self._send({"id": "1", "type": "subscribe", "payload": self.subscribe_payload})
            if not self.subscribed.done():
                self.subscribed.set_result(None)
        elif kind == "ping":
            self._send({"type": "pong"})
        elif kind in ("error", "complete", "connection_error"):
            self._end(f"{kind}: {str(message)[:300]}")

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(orjson.dumps(message))
        self._flush()

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:  # the protocol asks for the end of the write side
                self.transport.close()

    def _end(self, why: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(why))
        if not self.closed.done():
            self.closed.set_result(why)
        self.close()
