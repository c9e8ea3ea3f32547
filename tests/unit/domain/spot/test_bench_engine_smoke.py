"""The engine bench runs end to end on a tiny stream (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_bench_runs_and_ends_with_one_json_line() -> None:
    # given
    command = [sys.executable, "-m", "bench.engine", "--steps", "3000", "--repeat", "1"]
    # when
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    # then
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["steps"] == 3000
    assert figures["ours"]["trades"] == figures["liquibook"]["trades"] > 0
    assert figures["ours"]["lots"] == figures["liquibook"]["lots"]
    assert figures["ours"]["ops_per_s"] > 0 and figures["liquibook"]["ops_per_s"] > 0
