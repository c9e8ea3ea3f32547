"""A rebuild sizes its windows so that each transaction takes about REBUILD_WINDOW_SECONDS."""

from __future__ import annotations

from projections.runner import MAX_REBUILD_WINDOW, REBUILD_WINDOW_SECONDS, next_window


def test_a_quick_window_at_most_doubles() -> None:
    assert next_window(1_000, REBUILD_WINDOW_SECONDS / 100) == 2_000


def test_a_slow_window_at_most_quarters() -> None:
    assert next_window(1_000, REBUILD_WINDOW_SECONDS * 100) == 250


def test_a_window_near_the_target_is_scaled_to_it() -> None:
    assert next_window(1_000, REBUILD_WINDOW_SECONDS / 1.5) == 1_500


def test_windows_stay_within_bounds() -> None:
    assert next_window(MAX_REBUILD_WINDOW, 0) == MAX_REBUILD_WINDOW
    assert next_window(1, REBUILD_WINDOW_SECONDS * 100) == 1
