"""Envelope encryption for secrets at rest (TOTP secrets, API secrets, later wallet keys).

Each secret gets its own random data key; the secret is sealed with AES-256-GCM under the data
key, bound to a context (say `totp:<user id>`) so a sealed value copied to another row does not
open there; the data key is wrapped by a master key that never leaves the key provider (the
environment here, a KMS behind the same interface later). Rotation re-wraps data keys under the
new master key without touching the ciphertext, row by row, while old keys still open what is
not yet re-wrapped: no downtime.

A sealed value is one ASCII string, `v1.<master key id>.<wrapped key>.<nonce>.<ciphertext>`
(base64url parts), so it fits a text column and says which master key opens it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from backend.settings import Settings

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value is malformed, was tampered with, or names an unknown master key."""


class KeyProvider(Protocol):
    """Wraps and unwraps data keys with master keys it keeps to itself (env, file, KMS)."""

    @property
    def current_key_id(self) -> str: ...

    def wrap(self, key_id: str, data_key: bytes) -> bytes: ...

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes: ...


class StaticKeys:
    """Master keys held in memory, the first one current: `id:base64key,id:base64key`."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
            if not key_id.isalnum():
                raise ValueError(f"master key id {key_id!r} must be alphanumeric")
        if current not in keys:
            raise ValueError(f"current master key {current!r} is not among the keys")
        self._keys = dict(keys)
        self._current = current

    @classmethod
    def parse(cls, spec: str) -> StaticKeys:
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                keys[key_id] = base64.urlsafe_b64decode(encoded.encode())
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"master key {key_id!r} is not base64") from exc
        if not keys:
            raise ValueError("no master key given")
        return cls(keys, current=next(iter(keys)))

    @property
    def current_key_id(self) -> str:
        return self._current

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._key(key_id)).encrypt(nonce, data_key, key_id.encode())

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return AESGCM(self._key(key_id)).decrypt(nonce, body, key_id.encode())
        except InvalidTag as exc:
            raise SealError("the data key does not unwrap under its master key") from exc

    def _key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise SealError(f"unknown master key {key_id!r}") from None


def new_master_key_spec(key_id: str = "k1") -> str:
    """A fresh `id:base64key` entry for EXCHANGE_MASTER_KEYS."""
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def development_keys(data_dir: Path) -> StaticKeys:
    """The embedded default's master key: made once and kept in the data folder. Production sets
    EXCHANGE_MASTER_KEYS (or a KMS provider) instead, so that keys and data live apart."""
    path = data_dir / "master-keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_master_key_spec("dev1") + "\n")
        path.chmod(0o600)
    return StaticKeys.parse(path.read_text())


def envelope_for(settings: Settings) -> Envelope:
    if settings.master_keys:
        return Envelope(StaticKeys.parse(settings.master_keys))
    return Envelope(development_keys(settings.data_dir))


@dataclass(frozen=True)
class Envelope:
    """Seals and opens secrets with the provider's master keys."""

    provider: KeyProvider

    def seal(self, plaintext: bytes, context: str) -> str:
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, context.encode())
        key_id = self.provider.current_key_id
        wrapped = self.provider.wrap(key_id, data_key)
        return ".".join((VERSION, key_id, _b64(wrapped), _b64(nonce), _b64(ciphertext)))

    def open(self, sealed: str, context: str) -> bytes:
        key_id, wrapped, nonce, ciphertext = _parts(sealed)
        data_key = self.provider.unwrap(key_id, wrapped)
        try:
            return AESGCM(data_key).decrypt(nonce, ciphertext, context.encode())
        except InvalidTag as exc:
            raise SealError("the sealed value was altered or belongs to another context") from exc

    def needs_rewrap(self, sealed: str) -> bool:
        return _parts(sealed)[0] != self.provider.current_key_id

    def rewrap(self, sealed: str) -> str:
        """The same secret with its data key wrapped by the current master key."""
        key_id, wrapped, nonce, ciphertext = _parts(sealed)
        current = self.provider.current_key_id
        if key_id == current:
            return sealed
        data_key = self.provider.unwrap(key_id, wrapped)
        rewrapped = self.provider.wrap(current, data_key)
        return ".".join((VERSION, current, _b64(rewrapped), _b64(nonce), _b64(ciphertext)))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(sealed: str) -> tuple[str, bytes, bytes, bytes]:
    parts = sealed.split(".")
    if len(parts) != 5 or parts[0] != VERSION:
        raise SealError("not a sealed value")
    try:
        return parts[1], _unb64(parts[2]), _unb64(parts[3]), _unb64(parts[4])
    except (binascii.Error, ValueError) as exc:
        raise SealError("a sealed value's part is not base64") from exc
