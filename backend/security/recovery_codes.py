"""One-time recovery codes: 80 random bits each, shown once, stored as SHA-256 digests."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

COUNT = 10
_GROUP = 4
_BODY = re.compile(r"^[A-Z2-7]{16}$")


def new_codes(count: int = COUNT) -> list[str]:
    """`xxxx-xxxx-xxxx-xxxx` in lower-case base32 (no 0/1/8/9 to misread)."""
    codes = []
    for _ in range(count):
        body = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(body[i : i + _GROUP] for i in range(0, len(body), _GROUP)))
    return codes


def normalize(code: str) -> str | None:
    """The canonical form (upper case, no separators), or None if it cannot be a code."""
    body = re.sub(r"[\s-]", "", code).upper()
    return body if _BODY.match(body) else None


def digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()
