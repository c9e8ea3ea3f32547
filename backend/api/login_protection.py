"""The lockout around the login mutation: refuse while locked, then count the outcome.

It wraps the command rather than living in it: a refused attempt never opens a transaction or
hashes a password, and a failure is counted although the command's transaction rolls back.
A wrong second-factor code counts as a failed login too, so TOTP cannot be brute-forced
behind a known password; "second factor required" is neither a failure nor a success.
"""

from __future__ import annotations

from typing import Any

from backend.api.context import Info
from backend.api.errors import InvalidCredentialsError, InvalidSecondFactorError, error_from
from backend.domain.errors import LoginLocked
from backend.security.login_guard import LoginGuard

FAILURES = (InvalidCredentialsError, InvalidSecondFactorError)


def login_guard(info: Info) -> LoginGuard:
    services = info.context.services
    return LoginGuard(services.redis, services.settings)


async def login_refusal(info: Info, email: str) -> Any | None:
    """A LoginLockedError while the account or the caller's address is locked, else None."""
    try:
        await login_guard(info).check_login_allowed(email, info.context.client_ip)
    except LoginLocked as exc:
        return error_from(exc)
    return None


async def count_login_outcome(info: Info, email: str, result: object, succeeded: type) -> None:
    guard = login_guard(info)
    if isinstance(result, FAILURES):
        await guard.record_login_failure(email, info.context.client_ip)
    elif isinstance(result, succeeded):
        await guard.record_login_success(email)
