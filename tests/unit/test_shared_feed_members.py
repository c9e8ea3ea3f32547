"""Members of a shared stream (backend/api/shared_feeds.py): `send_eagerly` runs a write in the
producer's turn when it need not wait and otherwise leaves it to whoever awaits the rest; a
member's payloads keep their order behind a pushed-back write; a gone socket is the member's."""

from __future__ import annotations

import asyncio

import pytest

from backend.api.shared_feeds import QUEUE_BOUND, _Member, _SendFailed, send_eagerly


async def _write(log: list[str], gate: asyncio.Event | None = None) -> None:
    log.append("start")
    if gate is not None:
        await gate.wait()
    log.append("end")


async def test_a_write_that_need_not_wait_completes_in_the_callers_turn() -> None:
    log: list[str] = []
    # when
    rest = send_eagerly(_write(log))
    # then: done without yielding to the loop
    assert rest is None
    assert log == ["start", "end"]


async def test_a_write_that_waits_is_finished_by_its_awaiter() -> None:
    # given: a socket that pushes back until the gate opens
    log: list[str] = []
    gate = asyncio.Event()
    rest = send_eagerly(_write(log, gate))
    assert rest is not None
    assert log == ["start"]
    # when
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    assert not task.done()
    gate.set()
    await task
    # then
    assert log == ["start", "end"]


async def test_cancelling_the_awaiter_cancels_the_write() -> None:
    # given
    log: list[str] = []
    rest = send_eagerly(_write(log, asyncio.Event()))
    assert rest is not None
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    # when
    task.cancel()
    # then: the write saw the cancellation and never finished
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["start"]


async def test_a_failing_write_raises_where_it_runs() -> None:
    async def broken() -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        send_eagerly(broken())


class _Socket:
    """A member's socket: records payloads; pushes back while `open_` is clear."""

    def __init__(self) -> None:
        self.open_ = asyncio.Event()
        self.open_.set()
        self.written: list[bytes] = []

    async def send(self, payload: bytes) -> None:
        await self.open_.wait()
        self.written.append(payload)


async def _drain(member: _Member) -> None:
    """What the member's task does with its queue (backend.api.shared_feeds.SharedFeedHandler)."""
    while not member.queue.empty():
        item = member.queue.get_nowait()
        member.sending = True
        try:
            await (member.send(item) if isinstance(item, bytes) else item)  # type: ignore[misc]
        finally:
            member.sending = False


async def test_payloads_behind_a_pushed_back_write_keep_their_order() -> None:
    # given: a member whose socket pushes back after the first payload
    socket = _Socket()
    member = _Member(socket.send)
    member.deliver(b"1")
    socket.open_.clear()
    # when
    for payload in (b"2", b"3", b"4"):
        member.deliver(payload)
    # then: 1 went out at once; 2 waits inside its write, 3 and 4 queue behind it
    assert socket.written == [b"1"]
    assert member.queue.qsize() == 3
    socket.open_.set()
    await _drain(member)
    assert socket.written == [b"1", b"2", b"3", b"4"]


async def test_a_member_too_far_behind_is_full() -> None:
    socket = _Socket()
    socket.open_.clear()
    member = _Member(socket.send)
    for _ in range(QUEUE_BOUND):
        member.deliver(b"x")
    with pytest.raises(asyncio.QueueFull):  # SharedFeeds ends it with LAGGING
        member.deliver(b"x")


async def test_a_write_to_a_gone_socket_is_handed_to_the_members_task() -> None:
    async def gone(payload: bytes) -> None:
        raise ConnectionResetError("gone")

    member = _Member(gone)
    # when
    member.deliver(b"1")
    # then
    failed = member.queue.get_nowait()
    assert isinstance(failed, _SendFailed)
    assert isinstance(failed.error, ConnectionResetError)
