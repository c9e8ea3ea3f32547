"""Token buckets on Redis, checked and taken atomically by one Lua script.

A bucket of `limit` tokens refills continuously at `limit` per `window`: a burst of `limit` is
allowed, then the sustained rate. Several buckets (IP, user, API key) are checked together and
tokens are taken only if all have enough, so a refused request costs nothing. The clock is
Redis's own (`TIME`), so every API process agrees on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local state = {}
local worst, worst_index = 0, 0
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local rate = limit / window
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or limit
  local ts = tonumber(b[2]) or now
  tokens = math.min(limit, tokens + math.max(0, now - ts) * rate)
  state[i] = {tokens, window, cost}
  if tokens < cost then
    local wait = math.ceil((cost - tokens) / rate)
    if wait > worst then worst, worst_index = wait, i end
  end
end
if worst_index > 0 then return {worst_index, worst} end
for i = 1, n do
  local s = state[i]
  redis.call('HSET', KEYS[i], 'tokens', tostring(s[1] - s[3]), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], s[2])
end
return {0, 0}
"""


@dataclass(frozen=True)
class Bucket:
    """`limit` tokens per `window_ms`, this request taking `cost` of them."""

    name: str  # what the limit is about, for the error message: `ip`, `user`, `api_key`, `orders`
    key: str
    limit: int
    window_ms: int
    cost: int = 1


class RateLimited(Exception):
    """A bucket is empty: retry after `retry_after_ms`."""

    def __init__(self, bucket: str, retry_after_ms: int) -> None:
        super().__init__(bucket, retry_after_ms)
        self.bucket = bucket
        self.retry_after_ms = retry_after_ms

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after_ms / 1000))

    @property
    def message(self) -> str:
        return f"rate limit ({self.bucket}) exceeded; retry after {self.retry_after_seconds} s"


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self._script: Any = redis.register_script(_SCRIPT)
        self.prefix = prefix

    @classmethod
    def connect(cls, redis_url: str, prefix: str, max_connections: int = 64) -> RateLimiter:
        """With its own pool that waits for a free connection (the default pool raises when
        exhausted, which a burst of requests, the very thing limited, would do)."""
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url, max_connections=max_connections, timeout=10
        )
        return cls(aioredis.Redis(connection_pool=pool), prefix)

    async def aclose(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()

    def key(self, *parts: object) -> str:
        return ":".join((self.prefix, "rl", *(str(p) for p in parts)))

    async def take(self, buckets: list[Bucket]) -> None:
        """Takes one request's tokens from every bucket, or raises RateLimited and takes none."""
        buckets = [b for b in buckets if b.limit > 0]
        if not buckets:
            return
        args: list[int] = []
        for b in buckets:
            args += [b.limit, b.window_ms, b.cost]
        index, wait = await self._script(keys=[b.key for b in buckets], args=args)
        if int(index):
            raise RateLimited(buckets[int(index) - 1].name, int(wait))
