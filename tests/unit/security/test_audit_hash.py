"""The audit chain's canonical encoding is pinned: changing it would break every stored chain."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.security.audit_hash import (
    GENESIS_HASH,
    AuditFields,
    canonical_bytes,
    normalize_json,
    record_hash,
)

RECORD = AuditFields(
    id=1,
    prev_hash=GENESIS_HASH,
    occurred_at=datetime(2026, 11, 25, 7, 20, 0, 123, tzinfo=UTC),
    actor_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    action="balance.adjust",
    target="user:42",
    reason="Grüße",
    before=None,
    after={"b": "1.50", "a": [1, True, None]},
    ip="203.0.113.7",
    request_id="req-1",
)


def test_canonical_encoding_is_sorted_compact_ascii_json() -> None:
    # when
    encoded = canonical_bytes(RECORD)
    # then
    assert encoded == (
        b'{"action":"balance.adjust","actor_id":"00000000-0000-4000-8000-000000000001",'
        b'"after":{"a":[1,true,null],"b":"1.50"},"before":null,"id":1,"ip":"203.0.113.7",'
        b'"occurred_at":"2026-11-25T07:20:00.000123Z",'
        b'"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
        b'"reason":"Gr\\u00fc\\u00dfe","request_id":"req-1","target":"user:42"}'
    )
    assert record_hash(RECORD) == hashlib.sha256(encoded).hexdigest()


def test_timestamps_are_hashed_in_utc_whatever_their_zone() -> None:
    # given
    elsewhere = RECORD.occurred_at.astimezone(timezone(timedelta(hours=5, minutes=30)))
    # when / then
    assert record_hash(RECORD) == record_hash(
        AuditFields(**{**RECORD.__dict__, "occurred_at": elsewhere})
    )


def test_every_field_is_covered() -> None:
    # given
    changes = {
        "id": 2,
        "prev_hash": "1" * 64,
        "occurred_at": RECORD.occurred_at + timedelta(microseconds=1),
        "actor_id": None,
        "action": "x",
        "target": "x",
        "reason": None,
        "before": {},
        "after": {"b": "1.5", "a": [1, True, None]},
        "ip": None,
        "request_id": None,
    }
    # when
    hashes = {record_hash(AuditFields(**{**RECORD.__dict__, k: v})) for k, v in changes.items()}
    # then
    assert len(hashes) == len(changes) and record_hash(RECORD) not in hashes


@pytest.mark.parametrize("value", [{"x": 1.5}, {"x": [float("nan")]}, {1: "a"}, {"x": object()}])
def test_values_that_would_not_read_back_identically_are_refused(value: object) -> None:
    # when / then
    with pytest.raises(TypeError):
        normalize_json(value)
