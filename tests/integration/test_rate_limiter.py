"""The token-bucket script on the real Redis: bursts, refill, all-or-nothing across buckets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from backend.security.rate_limit import Bucket, RateLimited, RateLimiter
from backend.settings import Settings


@pytest.fixture
async def limiter(settings: Settings) -> AsyncIterator[RateLimiter]:
    limiter = RateLimiter.connect(settings.redis_url, f"rltest_{uuid.uuid4().hex[:8]}")
    yield limiter
    await limiter.aclose()


async def test_a_burst_up_to_the_limit_passes_then_refuses(limiter: RateLimiter) -> None:
    # given
    bucket = Bucket("ip", limiter.key("ip", "1.2.3.4"), limit=5, window_ms=60_000)
    # when
    for _ in range(5):
        await limiter.take([bucket])
    with pytest.raises(RateLimited) as refused:
        await limiter.take([bucket])
    # then: one token comes back every 12 s
    assert refused.value.bucket == "ip"
    assert 11_000 < refused.value.retry_after_ms <= 12_000
    assert refused.value.retry_after_seconds == 12


async def test_tokens_refill_with_time(limiter: RateLimiter) -> None:
    # given: 10 per 200 ms, drained
    bucket = Bucket("user", limiter.key("user", "u"), limit=10, window_ms=200)
    for _ in range(10):
        await limiter.take([bucket])
    with pytest.raises(RateLimited):
        await limiter.take([bucket])
    # when
    await asyncio.sleep(0.25)
    # then
    for _ in range(10):
        await limiter.take([bucket])


async def test_a_refused_request_takes_from_no_bucket(limiter: RateLimiter) -> None:
    # given: the key's bucket is empty, the IP's is full
    ip = Bucket("ip", limiter.key("ip", "x"), limit=3, window_ms=60_000)
    key = Bucket("api_key", limiter.key("api_key", "k"), limit=1, window_ms=60_000)
    await limiter.take([key])
    # when
    for _ in range(5):
        with pytest.raises(RateLimited) as refused:
            await limiter.take([ip, key])
        assert refused.value.bucket == "api_key"
    # then: the IP still has all its tokens
    for _ in range(3):
        await limiter.take([ip])


async def test_concurrent_takers_never_exceed_the_limit(limiter: RateLimiter) -> None:
    # given
    bucket = Bucket("orders", limiter.key("orders", "acct"), limit=50, window_ms=600_000)

    async def one() -> bool:
        try:
            await limiter.take([bucket])
        except RateLimited:
            return False
        return True

    # when
    results = await asyncio.gather(*(one() for _ in range(200)))
    # then
    assert sum(results) == 50
