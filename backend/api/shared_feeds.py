"""Shared subscription streams: identical public feed subscriptions executed once per event.

A thousand clients subscribed to `trades(market: "BTC-USDT")` with the same document would
otherwise cost a thousand GraphQL executions and JSON encodings per trade. Subscriptions whose
every root field is a pure public stream (same answer for every caller, from the moment of
subscribing, no per-subscriber snapshot) are grouped by (document, variables, operation name):
one producer task runs the GraphQL stream, encodes each result once, and hands the bytes to
every member's queue; each member only adds its own operation id and sends the frame.

Feeds that start with a snapshot (orderBook, ticker, candles) or depend on the caller (myOrders,
myBalances) are not shared: they run per subscriber as strawberry does by default.

The producer writes each frame to the members' sockets in its own turn while they take it at
once (`send_eagerly`); a member's own task only runs for what cannot be written that way (a
socket pushing back, the end of the stream), so a trade costs a thousand socket writes and not a
thousand task switches. A member that falls `QUEUE_BOUND` messages behind is ended with a LAGGING
error (the client resubscribes) so that one slow socket never holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
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


@dataclass(frozen=True)
class _SendFailed:
    """A write the producer started for the member failed; the member's task raises it."""

    error: Exception


# A `next` payload, a send the producer started that must be finished, a failed send,
# errors before or instead of a stream, or the end.
Item = bytes | Awaitable[None] | _SendFailed | list[Any] | _End


class _Member:
    """One subscriber of a shared stream: its queue, and how to write a payload to its socket."""

    def __init__(self, send: Callable[[bytes], Coroutine[Any, Any, None]]) -> None:
        self.queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_BOUND)
        self.send = send
        self.sending = False  # its task is in the middle of a write

    def deliver(self, item: Item) -> None:
        """Writes a payload now when nothing is ahead of it, else queues it for the task."""
        if not isinstance(item, bytes) or self.sending or not self.queue.empty():
            self.queue.put_nowait(item)
        else:
            try:
                rest = send_eagerly(self.send(item))
            except Exception as exc:  # the socket is gone: the member's task reports it
                self.queue.put_nowait(_SendFailed(exc))
            else:
                if rest is not None:  # the socket pushed back: the task finishes the write
                    self.queue.put_nowait(rest)


@dataclass
class _Group:
    members: set[_Member] = field(default_factory=set)
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
        member: _Member,
    ) -> AsyncIterator[None]:
        group = self._groups.get(key)
        if group is None or group.task is None or group.task.done():
            group = _Group()
            self._groups[key] = group
            group.task = asyncio.create_task(self._produce(key, group, handler, operation))
        group.members.add(member)
        try:
            yield
        finally:
            group.members.discard(member)
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
        for member in list(group.members):
            try:
                member.deliver(item)
            except asyncio.QueueFull:
                group.members.discard(member)
                with contextlib.suppress(asyncio.QueueEmpty):
                    member.queue.get_nowait()  # make room for the verdict
                member.queue.put_nowait([_lagging()])


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
        ws = self.websocket.ws  # type: ignore[attr-defined]
        member = _Member(lambda payload: ws.send_text((prefix + payload + b"}").decode()))
        async with feeds.join(key, self, operation, member):
            while True:
                item = await member.queue.get()
                if isinstance(item, _End):
                    await operation.send_operation_message({"id": operation.id, "type": "complete"})
                    return
                if isinstance(item, list):  # errors before or instead of a stream
                    error: ErrorMessage = {"id": operation.id, "type": "error", "payload": item}
                    await operation.send_operation_message(error)
                    return
                if operation.completed:
                    return
                member.sending = True
                try:
                    if isinstance(item, _SendFailed):
                        raise item.error
                    await (member.send(item) if isinstance(item, bytes) else item)
                except WebSocketDisconnect as exc:
                    raise WebSocketDisconnected from exc
                finally:
                    member.sending = False


def send_eagerly(send: Coroutine[Any, Any, None]) -> Awaitable[None] | None:
    """Runs `send` in the caller's turn up to its first wait: None if it finished (a socket that
    takes the bytes at once), else an awaitable that finishes it. What Python 3.12's eager tasks
    do, without a task: for a thousand writes per event, the task switches cost more than the
    writes."""
    try:
        waiting_on = send.send(None)
    except StopIteration:
        return None
    return _Rest(send, waiting_on)


class _Rest:
    """The rest of a coroutine that was started by hand and now waits on `waiting_on`: awaiting
    this drives it on (results and exceptions of what it waits on are passed in as a task would)."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, None]:
        coroutine, waiting_on = self.coroutine, self.waiting_on
        while True:
            try:
                yield waiting_on
            except BaseException as exc:  # e.g. the awaiting task was cancelled
                step = functools.partial(coroutine.throw, exc)
            else:
                step = functools.partial(coroutine.send, None)
            try:
                waiting_on = step()
            except StopIteration:
                return
