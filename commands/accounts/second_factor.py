"""The second-factor check that sensitive actions call (login, password and 2FA changes, API
keys, later withdrawals). One seam: callers pass what the client sent; this module decides.

It runs inside the caller's transaction: a code it accepts is consumed by that transaction (and
stays unused if the caller rolls back). Wrong codes are counted on a connection of their own
(see two_factor.failures), so the caller must not hold locks on `user_security` or `sms_codes`
rows when calling it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.errors import InvalidSecondFactor, SecondFactorRequired
from backend.settings import Settings
from commands.accounts.two_factor import failures
from commands.accounts.two_factor.factors import use_recovery_code, verify_totp
from commands.accounts.two_factor.sms_codes import consume_code
from queries.account_security import two_factor_methods


@dataclass(frozen=True)
class SecondFactorProof:
    """What the client sent; at most one is used (TOTP first)."""

    totp: str | None = None
    recovery_code: str | None = None
    sms_code: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.totp or self.recovery_code or self.sms_code)


async def enabled_methods(conn: AsyncConnection, user_id: uuid.UUID) -> tuple[str, ...]:
    """The factors the user has enabled: `TOTP`, `RECOVERY_CODE`, `SMS` (empty: none)."""
    return await two_factor_methods(conn, user_id)


async def require_second_factor(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    proof: SecondFactorProof | None,
    settings: Settings,
    *,
    always: bool = False,
) -> None:
    """Passes when the user has no second factor (and `always` is false) or the proof is valid
    and unused; a valid code is consumed (single use within its window).

    Raises SecondFactorRequired (no proof, or `always` with 2FA not enabled) or
    InvalidSecondFactor (malformed, wrong, expired or reused code; too many wrong codes).
    """
    methods = await enabled_methods(conn, user_id)
    if not methods:
        if always:
            raise SecondFactorRequired("enable two-factor authentication first")
        return
    if proof is None or proof.empty:
        raise SecondFactorRequired("a second factor is required", methods)
    blocked = await failures.blocked_until(conn, user_id)
    if blocked is not None:
        raise InvalidSecondFactor(
            f"too many wrong codes: try again after {blocked.isoformat(timespec='seconds')}"
        )
    try:
        await _check(conn, user_id, proof, methods, settings)
    except InvalidSecondFactor:
        await failures.count_failure(conn, user_id)
        raise
    await failures.clear_failures(conn, user_id)


async def _check(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    proof: SecondFactorProof,
    methods: tuple[str, ...],
    settings: Settings,
) -> None:
    if proof.totp:
        if "TOTP" not in methods:
            raise InvalidSecondFactor("TOTP is not enabled for this account")
        await verify_totp(conn, user_id, proof.totp, settings)
    elif proof.recovery_code:
        if "RECOVERY_CODE" not in methods:
            raise InvalidSecondFactor("this account has no unused recovery codes")
        await use_recovery_code(conn, user_id, proof.recovery_code)
    else:
        if "SMS" not in methods:
            raise InvalidSecondFactor("SMS is not enabled for this account")
        await consume_code(conn, user_id, "verify", proof.sms_code or "")
