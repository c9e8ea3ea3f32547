"""Event types are registered with a schema version; old payloads are upcast as they are read."""

from __future__ import annotations

import pytest

from backend import events


def test_every_event_type_has_a_version() -> None:
    assert all(version >= 1 for version in events.EVENT_VERSIONS.values())
    with pytest.raises(KeyError):
        events.current_version("no.such_event")


def test_old_payloads_are_upcast_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: version 3 of a type whose v1 said "qty" and v2 lacked "unit"
    monkeypatch.setitem(events.EVENT_VERSIONS, "test.thing_happened", 3)
    monkeypatch.setitem(events.UPCASTERS, ("test.thing_happened", 1),
                        lambda d: {"quantity": d["qty"]})
    monkeypatch.setitem(events.UPCASTERS, ("test.thing_happened", 2),
                        lambda d: {**d, "unit": "lot"})
    # when
    upcast = events.upcast("test.thing_happened", 1, {"qty": 5})
    current = events.upcast("test.thing_happened", 3, {"quantity": 5, "unit": "lot"})
    # then
    assert upcast == current == {"quantity": 5, "unit": "lot"}
