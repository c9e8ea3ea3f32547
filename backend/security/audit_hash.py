"""The audit chain's hash: SHA-256 over a canonical encoding of a record and the previous hash.

The encoding (format 1; docs/security-audit.md) is JSON of exactly these keys, sorted, with no
whitespace (`","` and `":"` separators), ASCII only (every other character as a `\\uXXXX` escape),
then UTF-8 bytes:

    id           integer, the record's position in the chain (1, 2, 3, ...)
    prev_hash    64 lower-case hex characters; 64 zeros for the first record
    occurred_at  UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fraction digits)
    actor_id     lower-case hyphenated UUID, or null
    action, target            strings
    reason, ip, request_id    strings or null
    before, after             JSON values or null; numbers must be integers (amounts travel as
                              strings), so a value reads back from JSONB exactly as written

The hash is the lower-case hex SHA-256 of those bytes. Changing any field, the order of the
records or any earlier record changes every hash from there on.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditFields:
    """One audit record as it is hashed (and stored)."""

    id: int
    prev_hash: str
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    target: str
    reason: str | None
    before: Any
    after: Any
    ip: str | None
    request_id: str | None


def format_timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_json(value: Any, path: str = "$") -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise TypeError(f"audit value {path} is a float; pass decimals as strings")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit value {path} has a non-string key {key!r}")
            _check_json(item, f"{path}.{key}")
        return
    raise TypeError(f"audit value {path} is not JSON: {type(value).__name__}")


def normalize_json(value: Any) -> Any:
    """The JSON value as JSONB will give it back; refuses floats and non-JSON types."""
    if value is None:
        return None
    _check_json(value)
    return json.loads(json.dumps(value))


def canonical_bytes(record: AuditFields) -> bytes:
    document = {
        "id": record.id,
        "prev_hash": record.prev_hash,
        "occurred_at": format_timestamp(record.occurred_at),
        "actor_id": str(record.actor_id) if record.actor_id is not None else None,
        "action": record.action,
        "target": record.target,
        "reason": record.reason,
        "before": record.before,
        "after": record.after,
        "ip": record.ip,
        "request_id": record.request_id,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("utf-8")


def record_hash(record: AuditFields) -> str:
    return hashlib.sha256(canonical_bytes(record)).hexdigest()
