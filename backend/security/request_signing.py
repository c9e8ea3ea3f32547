"""Signed API-key requests, the Binance way: HMAC-SHA256(secret, timestamp + raw body), hex.

The timestamp (ms since the epoch) must lie within the receive window around the server's clock,
so a captured request stops working seconds later; replays inside the window are caught by the
caller (backend.api.authentication remembers signatures for the window).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000


class SignatureRejected(Exception):
    """The request's signing headers are missing, malformed, stale or do not match."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SignedHeaders:
    api_key: str
    timestamp_ms: int
    recv_window_ms: int
    signature: str


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    """The X-Signature a client sends for this body at this timestamp."""
    message = str(timestamp_ms).encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def parse_headers(
    api_key: str, timestamp: str | None, recv_window: str | None, signature: str | None
) -> SignedHeaders:
    if not timestamp or not signature:
        raise SignatureRejected("X-API-Key needs X-Timestamp and X-Signature")
    if not timestamp.isdigit() or len(timestamp) > 16:
        raise SignatureRejected("X-Timestamp must be milliseconds since the epoch")
    window = DEFAULT_RECV_WINDOW_MS
    if recv_window is not None:
        if not recv_window.isdigit() or not 1 <= int(recv_window) <= MAX_RECV_WINDOW_MS:
            raise SignatureRejected(f"X-Recv-Window must be 1 to {MAX_RECV_WINDOW_MS} ms")
        window = int(recv_window)
    return SignedHeaders(api_key, int(timestamp), window, signature.strip().lower())


def check_freshness(headers: SignedHeaders, now_ms: int) -> None:
    """Refuses a timestamp older than the window or further than the window in the future."""
    if headers.timestamp_ms < now_ms - headers.recv_window_ms:
        raise SignatureRejected("X-Timestamp is outside the receive window (too old)")
    if headers.timestamp_ms > now_ms + headers.recv_window_ms:
        raise SignatureRejected("X-Timestamp is outside the receive window (in the future)")


def check_signature(secret: str, headers: SignedHeaders, body: bytes) -> None:
    expected = sign(secret, headers.timestamp_ms, body)
    # Constant time: the comparison's duration says nothing about how much matched.
    if not hmac.compare_digest(expected.encode(), headers.signature.encode()):
        raise SignatureRejected("X-Signature does not match the request")
