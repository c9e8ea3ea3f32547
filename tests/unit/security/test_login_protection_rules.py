"""Pure rules of login protection: lock lengths, the client address, device names."""

from __future__ import annotations

import pytest

from backend.security.client_ip import client_ip
from backend.security.login_guard import lock_seconds
from backend.security.user_agent import describe_device


def test_lock_starts_at_the_threshold_and_doubles_to_the_cap() -> None:
    # when
    locks = [lock_seconds(n, 5, 60, 3600) for n in range(1, 14)]
    # then
    assert locks == [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_huge_failure_counts_stay_at_the_cap() -> None:
    assert lock_seconds(10**6, 5, 60, 3600) == 3600


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "", "10.0.0.5"),  # no proxy trusted: header ignored
        ("198.51.100.7", "203.0.113.9", "10.0.0.0/8", "198.51.100.7"),  # peer not a proxy
        ("10.0.0.5", "203.0.113.9", "10.0.0.0/8", "203.0.113.9"),
        # the client may prepend anything; the hop our proxy appended is the truth
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", "10.0.0.0/8", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "10.0.0.0/8", "203.0.113.9"),
        ("10.0.0.5", "not-an-ip", "10.0.0.0/8", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.0/8", "10.0.0.5"),
        ("::1", "2001:db8::1", "::1", "2001:db8::1"),
    ],
)
def test_client_ip(peer: str, forwarded: str | None, trusted: str, expected: str) -> None:
    assert client_ip(peer, forwarded, trusted) == expected


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
            " Chrome/120.0 Safari/537.36 Edg/120.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
            " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "Firefox on Linux",
        ),
        ("curl/8.4.0", "curl"),
        (None, "Unknown device"),
        ("my-trading-bot/2", "my-trading-bot/2"),
    ],
)
def test_describe_device(agent: str | None, device: str) -> None:
    assert describe_device(agent) == device
