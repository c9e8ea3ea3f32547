"""The user postings of the `ledger.transfer_posted` events in a window, read in SQL from the
stored payloads (`backend/db/ledger.py` `transfer_posted_event` writes them)."""

from __future__ import annotations

from backend.events import current_version
from projections.base import Window

TRANSFER_POSTED = "ledger.transfer_posted"

# The statements below read the payload as stored, so they see no upcaster: they must follow
# every new version of it (and the version check makes sure they are not forgotten).
PAYLOAD_VERSION = 1
if current_version(TRANSFER_POSTED) != PAYLOAD_VERSION:
    raise RuntimeError(f"projections/ledger reads {TRANSFER_POSTED} v{PAYLOAD_VERSION} payloads")

# `FROM` this: one row per posting into a user account (`e` the event, `p` the posting); a
# transfer's postings are netted per account, so each (transfer, account) appears once.
USER_POSTINGS = (
    "events e CROSS JOIN LATERAL jsonb_to_recordset(e.data -> 'postings')"
    " AS p(account_id bigint, user_id uuid, asset text, kind text, amount numeric)"
    f" WHERE {Window.CONDITION} AND e.event_type = '{TRANSFER_POSTED}' AND p.user_id IS NOT NULL"
)
