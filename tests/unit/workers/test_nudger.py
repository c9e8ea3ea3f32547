"""The coalescing nudger: bursts fold into few sends, and the last request is never lost."""

from __future__ import annotations

import asyncio
import threading

from workers.nudger import CoalescingNudger


async def test_a_burst_of_requests_costs_few_sends() -> None:
    sent: list[int] = []
    nudger = CoalescingNudger(lambda: sent.append(1), min_interval_seconds=0.05)
    nudger.start()
    for _ in range(1_000):
        nudger.request()
    await asyncio.sleep(0.2)
    await nudger.close()
    assert len(sent) == 1


async def test_a_request_during_a_send_gets_its_own_send() -> None:
    sending, release = threading.Event(), threading.Event()
    sent: list[int] = []

    def send() -> None:
        sending.set()
        release.wait(2)
        sent.append(1)

    nudger = CoalescingNudger(send, min_interval_seconds=0)
    nudger.start()
    nudger.request()
    await asyncio.to_thread(sending.wait, 2)
    nudger.request()  # arrives while the first nudge is on its way
    release.set()
    await asyncio.sleep(0.1)
    await nudger.close()
    assert len(sent) == 2


async def test_a_failing_send_does_not_stop_the_nudger() -> None:
    calls: list[int] = []

    def send() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("redis away")

    nudger = CoalescingNudger(send, min_interval_seconds=0)
    nudger.start()
    nudger.request()
    await asyncio.sleep(0.05)
    nudger.request()
    await asyncio.sleep(0.05)
    await nudger.close()
    assert len(calls) == 2
