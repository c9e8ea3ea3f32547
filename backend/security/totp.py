"""RFC 6238 time-based one-time passwords (pyotp), with replay protection by time step.

A code is accepted for the current 30-second step or one step either side (clock drift), and
only for a step later than the last one accepted for that user: a code can never be used twice,
and after a newer code was accepted an older one no longer works either.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from enum import Enum

import pyotp

DRIFT_STEPS = 1
CODE = re.compile(r"^[0-9]{6}$")


class TotpRejection(Enum):
    WRONG = "the code is wrong or outside its time window"
    REUSED = "this code (or a later one) was already used"


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def is_well_formed(code: str) -> bool:
    return bool(CODE.match(code))


def accepted_step(
    secret: str, code: str, at: datetime | float, last_step: int | None
) -> int | TotpRejection:
    """The time step `code` belongs to, if it may be accepted now; else why not."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    # Constant-time comparisons over every candidate step, so timing does not tell which matched.
    matched = [
        step
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    fresh = [step for step in matched if last_step is None or step > last_step]
    if fresh:
        return fresh[0]
    return TotpRejection.REUSED if matched else TotpRejection.WRONG
