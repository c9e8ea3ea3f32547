"""A tiny run of `python -m bench.matcher` (no timing assertions: it only must work)."""

from __future__ import annotations

import pytest

from bench import matcher
from tests.servers import ServerPair


def test_tiny_matcher_bench_drains_and_reconciles(servers: ServerPair,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setenv("DATABASE_URL", servers.admin_url)
    # when
    figures = matcher.main(["--orders", "400", "--traders", "4", "--batch", "100"])
    # then
    assert figures["orders"] == 400
    assert figures["trades"] > 0
    assert figures["reconciled"] is True
