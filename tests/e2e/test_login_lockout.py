"""Progressive login lockout per account and per IP, with the default thresholds (5 failures per
account, 100 per IP, then 60 s doubling), through the real server."""

from __future__ import annotations

import redis.asyncio as aioredis

from backend.security.login_guard import Limit, LoginGuard, email_key
from backend.settings import Settings
from tests.e2e.login_helpers import client_from, login, new_email, new_loopback_ip, register


async def expire_lock(settings: Settings, scope: str, subject: str) -> None:
    """What waiting out the lock would do, without the wait: its key disappears."""
    redis = aioredis.from_url(settings.redis_url)
    try:
        await redis.delete(LoginGuard(redis, settings)._key(Limit(scope, subject, 0), "lock"))
    finally:
        await redis.aclose()


async def test_fifth_failure_locks_the_account_even_for_the_right_password(
    server: str, settings: Settings
) -> None:
    # given
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        await register(client, email)
        failures = [await login(client, email, "wrong-password-1") for _ in range(5)]
        # when
        locked = await login(client, email)
    # then
    assert [f["code"] for f in failures] == ["INVALID_CREDENTIALS"] * 5
    assert locked["__typename"] == "LoginLockedError"
    assert locked["code"] == "LOGIN_LOCKED"
    assert 55 <= locked["retryAfterSeconds"] <= 60


async def test_lock_doubles_with_each_failure_after_it(server: str, settings: Settings) -> None:
    # given: locked for 60 s after five failures
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        await register(client, email)
        for _ in range(5):
            await login(client, email, "wrong-password-1")
        retry_afters = []
        for _ in range(3):
            retry_afters.append((await login(client, email))["retryAfterSeconds"])
            await expire_lock(settings, "account", email_key(email))
            # when: one more failure once the lock has run out
            failed = await login(client, email, "wrong-password-1")
            assert failed["code"] == "INVALID_CREDENTIALS"
        retry_afters.append((await login(client, email))["retryAfterSeconds"])
    # then
    assert [round(r / 60) for r in retry_afters] == [1, 2, 4, 8]


async def test_lock_is_capped_and_ends(server: str, settings: Settings) -> None:
    # given
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        await register(client, email)
        for _ in range(5):
            await login(client, email, "wrong-password-1")
        for _ in range(8):  # 60 s doubled eight times would pass the one-hour cap
            await expire_lock(settings, "account", email_key(email))
            await login(client, email, "wrong-password-1")
        capped = await login(client, email)
        # when
        await expire_lock(settings, "account", email_key(email))
        after = await login(client, email)
    # then
    assert 3590 <= capped["retryAfterSeconds"] <= 3600
    assert after["__typename"] == "Session"


async def test_success_resets_the_account_counter(server: str) -> None:
    # given
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        await register(client, email)
        for _ in range(4):
            await login(client, email, "wrong-password-1")
        assert (await login(client, email))["__typename"] == "Session"
        # when: four more failures would lock, had the first four still counted
        again = [await login(client, email, "wrong-password-1") for _ in range(4)]
        result = await login(client, email)
    # then
    assert {a["code"] for a in again} == {"INVALID_CREDENTIALS"}
    assert result["__typename"] == "Session"


async def test_unknown_emails_lock_like_known_ones(server: str) -> None:
    # given: nobody may learn from the lockout which accounts exist
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        for _ in range(5):
            await login(client, email, "wrong-password-1")
        # when
        result = await login(client, email, "wrong-password-1")
    # then
    assert result["code"] == "LOGIN_LOCKED"


async def test_ip_lock_after_100_failures_ignores_x_forwarded_for(server: str) -> None:
    # given: a real account, and an address spraying guesses at 100 other (unknown) accounts,
    # each request claiming to come from somewhere else (no proxy is trusted by default)
    email = new_email()
    attacker_ip = new_loopback_ip()
    async with client_from(server, new_loopback_ip()) as elsewhere:
        await register(elsewhere, email)
    async with client_from(server, attacker_ip) as attacker:
        for n in range(100):
            attacker.http.headers["x-forwarded-for"] = f"203.0.113.{n}"
            failed = await login(attacker, new_email(), "wrong-password-1")
            assert failed["code"] == "INVALID_CREDENTIALS", (n, failed)
        # when
        from_attacker = await login(attacker, email)
    async with client_from(server, new_loopback_ip()) as elsewhere:
        from_elsewhere = await login(elsewhere, email)
    # then
    assert from_attacker["code"] == "LOGIN_LOCKED"
    assert 55 <= from_attacker["retryAfterSeconds"] <= 60
    assert from_elsewhere["__typename"] == "Session"


async def test_lockout_counts_per_account_not_per_ip_for_a_single_account(server: str) -> None:
    # given: five failures spread over five addresses still lock the account
    email = new_email()
    async with client_from(server, new_loopback_ip()) as client:
        await register(client, email)
    for _ in range(5):
        async with client_from(server, new_loopback_ip()) as client:
            await login(client, email, "wrong-password-1")
    # when
    async with client_from(server, new_loopback_ip()) as client:
        result = await login(client, email)
    # then
    assert result["code"] == "LOGIN_LOCKED"
