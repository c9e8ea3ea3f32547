"""Shared subscription streams: identical public feed subscriptions executed once per event.

A thousand clients subscribed to `trades(market: "BTC-USDT")` with the same document would
otherwise cost a thousand GraphQL executions and JSON encodings per trade. Subscriptions whose
every root field is a pure public stream (same answer for every caller, from the moment of
subscribing, no per-subscriber snapshot) are grouped by (document, variables, operation name):
one producer task runs the GraphQL stream, encodes each result once, and hands the bytes to
every member's queue; each member only adds its own operation id and sends the frame.

Feeds that start with a snapshot (orderBook, ticker, candles) or depend on the caller (myOrders,
myBalances) are not shared: they run per subscriber as strawberry does by default.

A member that falls `QUEUE_BOUND` messages behind is ended with a LAGGING error (the client
resubscribes) so that one slow socket never holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import graphql
import orjson
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError

log = logging.getLogger(__name__)

SHAREABLE_FIELDS = frozenset({"trades"})
"""Subscription root fields that are pure streams from "now", the same for every caller."""
QUEUE_BOUND = 256


class _End:
    """The shared stream is over (its source completed or failed)."""


END = _End()
Item = bytes | list[Any] | _End  # a `next` payload, initial errors, or the end


@dataclass
class _Group:
    members: set[asyncio.Queue[Item]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class SharedFeeds:
    """The process's shared streams, by operation key."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, bytes, str | None], _Group] = {}

    @staticmethod
    def key_of(operation: Operation[Any, Any]) -> tuple[str, bytes, str | None] | None:
        """The grouping key, or None when the operation must run on its own."""
        try:
            document = graphql.parse(operation.query)
        except graphql.GraphQLError:
            return None  # let strawberry report it
        definitions = [
            d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
        ]
        if len(definitions) != 1 or len(document.definitions) != 1:
            return None  # fragments or several operations: not worth the analysis
        definition = definitions[0]
        if definition.operation != graphql.OperationType.SUBSCRIPTION:
            return None
        roots = definition.selection_set.selections
        if not roots or not all(
            isinstance(s, graphql.FieldNode) and s.name.value in SHAREABLE_FIELDS for s in roots
        ):
            return None
        variables = orjson.dumps(operation.variables or {}, option=orjson.OPT_SORT_KEYS)
        return operation.query, variables, operation.operation_name

    @contextlib.asynccontextmanager
    async def join(
        self,
        key: tuple[str, bytes, str | None],
        handler: BaseGraphQLTransportWSHandler[Any, Any],
        operation: Operation[Any, Any],
    ) -> AsyncIterator[asyncio.Queue[Item]]:
        queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_BOUND)
        group = self._groups.get(key)
        if group is None or group.task is None or group.task.done():
            group = _Group()
            self._groups[key] = group
            group.task = asyncio.create_task(self._produce(key, group, handler, operation))
        group.members.add(queue)
        try:
            yield queue
        finally:
            group.members.discard(queue)
            if not group.members and group.task is not None:
                group.task.cancel()
                if self._groups.get(key) is group:
                    del self._groups[key]

    async def _produce(
        self,
        key: tuple[str, bytes, str | None],
        group: _Group,
        handler: BaseGraphQLTransportWSHandler[Any, Any],
        operation: Operation[Any, Any],
    ) -> None:
        """Runs the stream once, with the first member's context (public feeds ignore it)."""
        try:
            source = await handler.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=handler.context,
                root_value=handler.root_value,
                operation_name=operation.operation_name,
            )
            async with contextlib.aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError):
                        self._offer(group, [e.formatted for e in result.errors or []])
                        return
                    if isinstance(result, ExecutionResult):
                        self._offer(group, _payload(result))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("shared feed failed")
        finally:
            if self._groups.get(key) is group:
                del self._groups[key]
            self._offer(group, END)

    @staticmethod
    def _offer(group: _Group, item: Item) -> None:
        for queue in list(group.members):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                group.members.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()  # make room for the verdict
                queue.put_nowait([_lagging()])


def _payload(result: ExecutionResult) -> bytes:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload)


def _lagging() -> dict[str, Any]:
    return {
        "message": "the subscription fell too far behind; subscribe again",
        "extensions": {"code": "LAGGING"},
    }


class SharedFeedHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with shareable subscriptions served from `SharedFeeds`."""

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        feeds: SharedFeeds | None = getattr(self.view, "shared_feeds", None)
        key = feeds.key_of(operation) if feeds is not None else None
        if feeds is None or key is None:
            await super().run_operation(operation)
            return
        prefix = b'{"id":' + orjson.dumps(operation.id) + b',"type":"next","payload":'
        async with feeds.join(key, self, operation) as queue:
            while True:
                item = await queue.get()
                if isinstance(item, _End):
                    await operation.send_operation_message(
                        {"id": operation.id, "type": "complete"}
                    )
                    return
                if isinstance(item, list):  # errors before or instead of a stream
                    error: ErrorMessage = {"id": operation.id, "type": "error", "payload": item}
                    await operation.send_operation_message(error)
                    return
                if operation.completed:
                    return
                try:
                    await self.websocket.ws.send_text((prefix + item + b"}").decode())  # type: ignore[attr-defined]
                except WebSocketDisconnect as exc:
                    raise WebSocketDisconnected from exc
