"""Tiny runs of the end-to-end benchmarks (bench/api.py, bench/subscriptions.py) so they never rot.

One real stack (API, worker, matcher on a fresh database) is shared by the runs. Figures are not
asserted, only that each bench measured something and ends with its one JSON line.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

import bench.api as bench_api
import bench.subscriptions as bench_subscriptions
from bench.stack import Stack, running_stack
from tests.servers import ServerPair


@pytest.fixture(scope="module")
def stack(servers: ServerPair) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", servers.admin_url)
        env.setenv("REDIS_URL", servers.redis_url)
        with running_stack("bench_smoke") as running:
            yield running


def _last_json(out: str) -> dict[str, object]:
    figures: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return figures


def test_api_bench_with_wrk(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    # given: wrk when installed (apt-get install -y wrk); else the Python load generator
    loadgen = "wrk" if shutil.which("wrk") else "python"
    if loadgen == "python":
        print("wrk is not installed: the smoke run uses the Python load generator")
    argv = ["--duration", "2", "--warmup", "0", "--traders", "2", "--connections", "2"]
    argv += ["--paced-connections", "2", "--rate", "5", "--loadgen", loadgen]
    # when
    figures = bench_api.main(argv, stack=stack)
    # then
    assert _last_json(capsys.readouterr().out) == json.loads(json.dumps(figures))
    assert [p["phase"] for p in figures["phases"]] == ["throughput", "paced"]
    assert sum(p["answers"]["answered"] for p in figures["phases"]) > 0
    for phase in figures["phases"]:
        # every answered order is in the database (committed before its answer)
        assert phase["database"]["orders"] >= phase["answers"]["answered"]
        assert phase["answers"]["error_answers"] == phase["answers"]["http_errors"] == 0
        assert set(phase["cpu_ms_per_order"]) >= {"api", "matcher", "worker", "postgres"}
        assert phase["peak_rss_mb"]["api"] > 0
    assert figures["settings"]["rate_limits"] == "none exist yet"
    assert {"fsync", "synchronous_commit", "full_page_writes"} <= set(figures["settings"])


def test_api_bench_python_load_generator(stack: Stack) -> None:
    # when
    figures = bench_api.main(
        ["--phases", "throughput", "--duration", "1", "--warmup", "0", "--traders", "1",
         "--connections", "2", "--loadgen", "python"],
        stack=stack,
    )  # fmt: skip
    # then
    (phase,) = figures["phases"]
    assert phase["answers"]["answered"] > 0
    assert phase["latency_ms"]["max"] >= phase["latency_ms"]["p50"] > 0


def test_api_bench_says_when_wrk_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.setattr(bench_api.shutil, "which", lambda _name: None)
    # when
    with pytest.raises(SystemExit) as exited:
        bench_api.main(["--duration", "1"])
    # then
    assert exited.value.code == 2
    assert "apt-get install -y wrk" in capsys.readouterr().err


def test_subscriptions_bench(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    figures = bench_subscriptions.main(
        ["--subscribers", "5", "--rate", "5", "--duration", "2", "--warmup", "0.5"], stack=stack
    )
    # then
    assert figures is not None
    assert _last_json(capsys.readouterr().out) == json.loads(json.dumps(figures))
    assert figures["feed"] in ("trades", "myOrders")
    assert figures["messages"] > 0
    assert all(not c["failures"] for c in figures["clients"])
    assert figures["latency_ms"]["max"] >= figures["latency_ms"]["p50"]
    assert figures["api_rss_mb"]["subscribed_idle"] > 0
