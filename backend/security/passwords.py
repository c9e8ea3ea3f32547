"""Argon2id password hashing (argon2-cffi), run off the event loop: it is deliberately slow."""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106 "low memory": t=3, 64 MiB, p=4) unless the operator tunes them;
# the test suite lowers them through the same variables to keep thousands of logins fast.
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("EXCHANGE_ARGON2_TIME_COST", "3")),
    memory_cost=int(os.environ.get("EXCHANGE_ARGON2_MEMORY_KIB", "65536")),
    parallelism=int(os.environ.get("EXCHANGE_ARGON2_PARALLELISM", "4")),
)

# Verified against when the email is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return (
                _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
