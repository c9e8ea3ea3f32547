"""The catalogue of event types: each has a stable name and a schema version.

Stored events are never rewritten. When an event's shape changes, its version goes up and an
upcaster turns the old shape into the new one as it is read, so projections see only the latest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

EVENT_VERSIONS: dict[str, int] = {
    "account.user_registered": 1,
    "account.session_started": 1,
    "account.session_revoked": 1,
    "account.role_granted": 1,
    "ledger.transfer_posted": 1,
    "admin.asset_created": 1,
    "admin.market_created": 1,
    "admin.market_updated": 1,
    "admin.balance_adjusted": 1,
    "spot.order_accepted": 1,
    "spot.cancel_requested": 1,
    "spot.cancel_all_requested": 1,
    "spot.amend_requested": 1,
    "spot.batch_matched": 1,
    # two-factor authentication and password changes
    "account.totp_enrolment_started": 1,
    "account.totp_enabled": 1,
    "account.totp_disabled": 1,
    "account.recovery_codes_generated": 1,
    "account.recovery_code_used": 1,
    "account.sms_enrolment_started": 1,
    "account.sms_enabled": 1,
    "account.sms_disabled": 1,
    "account.sms_code_sent": 1,
    "account.password_changed": 1,
    # Login protection, sessions, account status (issue 5).
    "account.new_device_login": 1,
    "account.anti_phishing_code_set": 1,
    "account.status_changed": 1,
    # API keys
    "account.api_key_created": 1,
    "account.api_key_revoked": 1,
    "admin.api_key_tier_changed": 1,
}

# (event_type, from_version) -> function returning the payload at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def current_version(event_type: str) -> int:
    try:
        return EVENT_VERSIONS[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}: add it to EVENT_VERSIONS") from None


def upcast(event_type: str, version: int, data: Payload) -> Payload:
    """Bring a stored payload up to the current schema version of its type."""
    target = current_version(event_type)
    while version < target:
        data = UPCASTERS[(event_type, version)](data)
        version += 1
    return data
