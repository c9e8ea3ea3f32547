"""A tiny run of `python -m bench.recovery` (no timing assertions: it only must work)."""

from __future__ import annotations

import pytest

from bench import recovery
from tests.servers import ServerPair


def test_tiny_recovery_bench_restarts_the_matcher_and_rebuilds(
    servers: ServerPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("DATABASE_URL", servers.admin_url)
    # when
    figures = recovery.main(["--orders", "500", "--traders", "3", "--events", "600"])
    # then: the matcher loaded the book and filled an order placed after its start
    assert figures["resting_orders"] == 500
    assert 0 < figures["matcher_leading_s"] <= figures["back_to_matching_s"]
    assert figures["matcher_rss_mb"] > 0
    assert figures["events_handled"] >= 600
