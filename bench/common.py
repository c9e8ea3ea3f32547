"""Small shared bench helpers: timing, latency percentiles, peak memory, the final JSON line."""

from __future__ import annotations

import gc
import json
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Stopwatch:
    """Accumulates wall-clock and process CPU time over the sections it is started for.

    CPU time is the steadier figure on a shared machine: other processes stretch the wall clock
    of a run but not the CPU time it uses.
    """

    __slots__ = ("_cpu0", "_wall0", "cpu", "wall")

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._wall0 = self._cpu0 = 0.0

    def start(self) -> None:
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def stop(self) -> None:
        self.wall += time.perf_counter() - self._wall0
        self.cpu += time.process_time() - self._cpu0


def best_of(repeats: int, run: Callable[[], Stopwatch]) -> tuple[float, float]:
    """Smallest wall and smallest CPU seconds over `repeats` runs (each measures itself).

    The minimum is the figure least disturbed by other processes on a shared machine.
    """
    walls, cpus = [], []
    for _ in range(max(1, repeats)):
        gc.collect()
        watch = run()
        walls.append(watch.wall)
        cpus.append(watch.cpu)
    return min(walls), min(cpus)


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending sequence (0 for an empty one)."""
    if not sorted_values:
        return 0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def latency_us(samples_ns: list[int]) -> dict[str, float]:
    """p50 / p99 / max of per-operation latencies, in microseconds."""
    ordered = sorted(samples_ns)
    return {
        "p50_us": round(percentile(ordered, 0.50) / 1000, 3),
        "p99_us": round(percentile(ordered, 0.99) / 1000, 3),
        "max_us": round((ordered[-1] if ordered else 0) / 1000, 3),
    }


def traced_peak_mb(run: Callable[[], T]) -> tuple[T, float]:
    """Run under tracemalloc; returns the result and the peak Python heap growth in MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, round(peak / 2**20, 2)


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def environment() -> dict[str, str]:
    return {"python": sys.version.split()[0], "machine": platform.machine()}


def emit_json(figures: dict[str, object]) -> None:
    """The run's one machine-readable line: always the last line printed."""
    print(json.dumps(figures, sort_keys=True), flush=True)


def now_ns() -> int:
    return time.perf_counter_ns()
