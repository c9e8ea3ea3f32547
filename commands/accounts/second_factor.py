"""The second-factor check that sensitive actions call (login, password and 2FA changes, API
keys, later withdrawals). One seam: callers pass what the client sent; this module decides.

STUB until the two-factor branch lands: no account has a second factor yet, so only
`always=True` (an action that needs 2FA even when the user has not enabled it) refuses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.domain.errors import SecondFactorRequired
from backend.settings import Settings


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
    return ()


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
    InvalidSecondFactor (wrong, expired or reused code).
    """
    methods = await enabled_methods(conn, user_id)
    if not methods:
        if always:
            raise SecondFactorRequired("enable two-factor authentication first")
        return
    raise SecondFactorRequired("a second factor is required", methods)
