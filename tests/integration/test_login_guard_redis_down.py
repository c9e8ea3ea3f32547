"""With Redis unreachable the login guard fails closed (the default) or open (by setting)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from backend.domain.errors import LoginLocked
from backend.security.login_guard import LoginGuard
from backend.settings import Settings


def unreachable_redis() -> aioredis.Redis:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return aioredis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)


async def test_fails_closed_by_default(settings: Settings) -> None:
    # given
    redis = unreachable_redis()
    guard = LoginGuard(redis, settings)
    # when
    with pytest.raises(LoginLocked) as refused:
        await guard.check_login_allowed("someone@example.com", "192.0.2.1")
    await redis.aclose()
    # then
    assert refused.value.retry_after_seconds == 30
    assert "temporarily unavailable" in refused.value.message


async def test_fails_open_when_configured(settings: Settings) -> None:
    # given
    redis = unreachable_redis()
    guard = LoginGuard(redis, replace(settings, login_guard_fail_open=True))
    # when
    await guard.check_login_allowed("someone@example.com", "192.0.2.1")
    started = await guard.record_login_failure("someone@example.com", "192.0.2.1")
    await guard.record_login_success("someone@example.com")
    await redis.aclose()
    # then
    assert started == []
