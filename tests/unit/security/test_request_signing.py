"""The signing rules on their own: Binance's test vector, windows, header parsing, allowlists."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from backend.domain.errors import InvalidInput
from backend.security import ip_allowlist
from backend.security.request_signing import (
    SignatureRejected,
    check_freshness,
    check_signature,
    parse_headers,
    sign,
)


def test_signature_is_binances_hmac_with_the_timestamp_first() -> None:
    # Binance's documented SIGNED example (secret, message, signature) pins hex HMAC-SHA256;
    # our message is the timestamp followed by the raw body.
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    query = (
        b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        b"&recvWindow=5000&timestamp=1499827319559"
    )
    binance = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert hmac.new(secret.encode(), query, hashlib.sha256).hexdigest() == binance
    expected = hmac.new(secret.encode(), b"1499827319559" + query, hashlib.sha256).hexdigest()
    assert sign(secret, 1499827319559, query) == expected


def test_a_good_signature_passes_and_any_change_fails() -> None:
    headers = parse_headers("k", "1000", None, sign("s3cret", 1000, b"body"))
    check_signature("s3cret", headers, b"body")
    with pytest.raises(SignatureRejected):
        check_signature("s3cret", headers, b"bodY")
    with pytest.raises(SignatureRejected):
        check_signature("other", headers, b"body")
    later = parse_headers("k", "1001", None, sign("s3cret", 1000, b"body"))
    with pytest.raises(SignatureRejected):
        check_signature("s3cret", later, b"body")


@pytest.mark.parametrize(
    ("timestamp", "window", "ok"),
    [
        (10_000, None, True),
        (5_000, None, True),  # exactly the window old
        (4_999, None, False),
        (15_000, None, True),
        (15_001, None, False),
        (9_000, "1000", True),
        (8_999, "1000", False),
    ],
)
def test_the_receive_window_bounds_both_sides(timestamp: int, window: str | None, ok: bool) -> None:
    headers = parse_headers("k", str(timestamp), window, "00")
    if ok:
        check_freshness(headers, now_ms=10_000)
    else:
        with pytest.raises(SignatureRejected):
            check_freshness(headers, now_ms=10_000)


@pytest.mark.parametrize(
    ("timestamp", "window", "signature"),
    [
        (None, None, "ab"),
        ("12", None, None),
        ("-5", None, "ab"),
        ("1.5", None, "ab"),
        ("12", "0", "ab"),
        ("12", "60001", "ab"),
        ("12", "x", "ab"),
    ],
)
def test_malformed_headers_are_refused(
    timestamp: str | None, window: str | None, signature: str | None
) -> None:
    with pytest.raises(SignatureRejected):
        parse_headers("k", timestamp, window, signature)


def test_allowlists_normalize_and_match() -> None:
    networks = ip_allowlist.normalize(["10.0.0.7", "10.0.0.0/8", " 2001:db8::/32", "10.0.0.7"])
    assert networks == ["10.0.0.7/32", "10.0.0.0/8", "2001:db8::/32"]
    assert ip_allowlist.allows(networks, "10.200.1.1")
    assert ip_allowlist.allows(networks, "2001:db8::1")
    assert not ip_allowlist.allows(networks, "192.168.0.1")
    assert not ip_allowlist.allows(networks, None)
    assert ip_allowlist.allows([], "192.168.0.1")
    for bad in (["300.1.1.1"], ["10.0.0.0/40"], ["host.example"], [""]):
        with pytest.raises(InvalidInput):
            ip_allowlist.normalize(bad)
