"""Envelope encryption: seal/open, context binding, tampering, and rotation by re-wrapping."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from backend.security.envelope import (
    Envelope,
    SealError,
    StaticKeys,
    development_keys,
    new_master_key_spec,
)


def keys(*ids: str) -> StaticKeys:
    return StaticKeys.parse(",".join(new_master_key_spec(i) for i in ids))


def test_seal_then_open_in_the_same_context() -> None:
    envelope = Envelope(keys("k1"))
    sealed = envelope.seal(b"JBSWY3DPEHPK3PXP", "totp:user-1")
    assert b"JBSWY3DPEHPK3PXP" not in sealed.encode()
    assert sealed.startswith("v1.k1.")
    assert envelope.open(sealed, "totp:user-1") == b"JBSWY3DPEHPK3PXP"


def test_each_seal_uses_a_fresh_data_key_and_nonce() -> None:
    envelope = Envelope(keys("k1"))
    assert envelope.seal(b"same", "c") != envelope.seal(b"same", "c")


def test_a_sealed_value_does_not_open_in_another_context() -> None:
    envelope = Envelope(keys("k1"))
    sealed = envelope.seal(b"secret", "totp:user-1")
    with pytest.raises(SealError):
        envelope.open(sealed, "totp:user-2")


@pytest.mark.parametrize("part", [2, 3, 4])
def test_a_tampered_part_is_refused(part: int) -> None:
    envelope = Envelope(keys("k1"))
    parts = envelope.seal(b"secret", "c").split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
    raw[-1] ^= 1
    parts[part] = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(SealError):
        envelope.open(".".join(parts), "c")


@pytest.mark.parametrize("garbage", ["", "v1.k1", "v2.k1.a.b.c", "v1.k1.!!.b.c"])
def test_garbage_is_a_seal_error(garbage: str) -> None:
    with pytest.raises(SealError):
        Envelope(keys("k1")).open(garbage, "c")


def test_rotation_rewraps_under_the_new_key_and_old_values_still_open() -> None:
    old = keys("k1")
    sealed = Envelope(old).seal(b"secret", "c")
    # the operator puts a new key first and keeps the old one until everything is re-wrapped
    spec_new = new_master_key_spec("k2")
    rotated = StaticKeys.parse(spec_new + "," + _spec_of(old, "k1"))
    envelope = Envelope(rotated)
    assert envelope.open(sealed, "c") == b"secret"
    assert envelope.needs_rewrap(sealed)
    rewrapped = envelope.rewrap(sealed)
    assert rewrapped.startswith("v1.k2.") and not envelope.needs_rewrap(rewrapped)
    # the ciphertext is unchanged; only the wrapped data key moved
    assert rewrapped.split(".")[3:] == sealed.split(".")[3:]
    assert Envelope(StaticKeys.parse(spec_new)).open(rewrapped, "c") == b"secret"


def test_an_unknown_master_key_is_a_seal_error() -> None:
    sealed = Envelope(keys("k1")).seal(b"secret", "c")
    with pytest.raises(SealError):
        Envelope(keys("k9")).open(sealed, "c")


@pytest.mark.parametrize("spec", ["", "k1:c2hvcnQ=", "k-1:" + "A" * 43 + "="])
def test_bad_master_key_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        StaticKeys.parse(spec)


def test_development_keys_are_made_once_and_kept(tmp_path: Path) -> None:
    first = Envelope(development_keys(tmp_path)).seal(b"secret", "c")
    assert (tmp_path / "master-keys").stat().st_mode & 0o077 == 0
    assert Envelope(development_keys(tmp_path)).open(first, "c") == b"secret"


def _spec_of(provider: StaticKeys, key_id: str) -> str:
    raw = provider._keys[key_id]
    return f"{key_id}:{base64.urlsafe_b64encode(raw).decode()}"
