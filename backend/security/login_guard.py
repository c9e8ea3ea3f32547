"""Progressive lockout after failed logins, per account and per IP, with counters in Redis.

After `max_failures` failures inside the window a lock starts: `lock_base` seconds, doubled by
every further failure, at most `lock_max`. While a lock runs, login is refused before the
password is looked at. Unknown emails are counted exactly like known ones, so the lockout tells
nobody which accounts exist. A success clears the account's counter, not the IP's: an attacker
holding one valid account must not be able to wipe the IP's record between guesses.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.domain.errors import LoginLocked
from backend.settings import Settings

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_SECONDS = 30
"""What a client is told to wait when Redis is down and the guard fails closed."""


@dataclass(frozen=True)
class Limit:
    scope: str  # "account" or "ip"
    subject: str  # hashed email, or the IP
    max_failures: int


def email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def lock_seconds(failures: int, max_failures: int, base: int, cap: int) -> int:
    """0 below the threshold; then base, 2*base, 4*base, ... at most cap."""
    if failures < max_failures:
        return 0
    return int(min(base * 2 ** min(failures - max_failures, 32), cap))


class LoginGuard:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def _limits(self, email: str, ip: str | None) -> list[Limit]:
        s = self.settings
        limits = [Limit("account", email_key(email), s.login_account_max_failures)]
        if ip:
            limits.append(Limit("ip", ip, s.login_ip_max_failures))
        return limits

    def _key(self, limit: Limit, kind: str) -> str:
        return f"{self.settings.queue_namespace}:login:{limit.scope}:{limit.subject}:{kind}"

    async def check_login_allowed(self, email: str, ip: str | None) -> None:
        """Raises LoginLocked while the account or the IP is locked (or Redis is down and the
        guard fails closed)."""
        limits = self._limits(email, ip)
        try:
            remaining_ms = [await self.redis.pttl(self._key(limit, "lock")) for limit in limits]
        except RedisError:
            self._unavailable("check")
            return
        wait_ms = max(remaining_ms)
        if wait_ms > 0:
            raise LoginLocked(math.ceil(wait_ms / 1000))

    async def record_login_failure(self, email: str, ip: str | None) -> list[tuple[str, int]]:
        """Counts one failure; returns the locks it started, as (scope, seconds)."""
        s = self.settings
        started: list[tuple[str, int]] = []
        try:
            for limit in self._limits(email, ip):
                fails_key = self._key(limit, "fails")
                failures = int(await self.redis.incr(fails_key))
                seconds = lock_seconds(
                    failures,
                    limit.max_failures,
                    s.login_lock_base_seconds,
                    s.login_lock_max_seconds,
                )
                # The counter outlives the lock, so the next failure after it doubles the lock.
                await self.redis.expire(fails_key, s.login_failure_window_seconds + seconds)
                if seconds:
                    await self.redis.set(self._key(limit, "lock"), failures, ex=seconds)
                    started.append((limit.scope, seconds))
        except RedisError:
            log.warning("login guard could not count a failure", exc_info=True)
        for scope, seconds in started:
            log.warning("login locked", extra={"scope": scope, "seconds": seconds, "ip": ip})
        return started

    async def record_login_success(self, email: str) -> None:
        limit = self._limits(email, None)[0]
        try:
            await self.redis.delete(self._key(limit, "fails"), self._key(limit, "lock"))
        except RedisError:
            log.warning("login guard could not reset a counter", exc_info=True)

    def _unavailable(self, what: str) -> None:
        log.error("login guard: Redis unavailable (%s)", what, exc_info=True)
        if not self.settings.login_guard_fail_open:
            raise LoginLocked(
                UNAVAILABLE_RETRY_SECONDS, "login is temporarily unavailable; try again shortly"
            )
