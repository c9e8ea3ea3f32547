"""Master-key rotation through `exchange rotate-keys`: every sealed secret (TOTP secrets, API-key
secrets) is re-wrapped under the new master key, opens with it alone in its own context, and a
second run has nothing left to do."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.api_key_tables import api_keys
from backend.db.engine import make_engine
from backend.db.two_factor_tables import totp_credentials
from backend.security.envelope import Envelope, StaticKeys, new_master_key_spec
from backend.settings import Settings
from commands.accounts.register_user import RegisterUser
from commands.bus import CommandBus
from tests.conftest import ROOT


@pytest.fixture
async def db(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=2)
    yield engine
    await engine.dispose()


async def _rotate_keys(env: dict[str, str]) -> tuple[int, str]:
    """`exchange rotate-keys` as an operator runs it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", "rotate-keys", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_rotate_keys_rewraps_every_sealed_secret(
    db: AsyncEngine, isolated_settings: Settings
) -> None:
    # given: a TOTP secret and an API-key secret sealed under the old master key
    old_spec, new_spec = new_master_key_spec("old1"), new_master_key_spec("new1")
    old = Envelope(StaticKeys.parse(old_spec))
    user = await CommandBus(db).execute(
        RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "correct-horse-9")
    )
    key_id = uuid.uuid4()
    async with db.begin() as conn:
        await conn.execute(totp_credentials.insert().values(
            user_id=user, secret_sealed=old.seal(b"JBSWY3DPEHPK3PXP", f"totp:{user}")))
        await conn.execute(api_keys.insert().values(
            id=key_id, user_id=user, label="bot", scopes=["READ"],
            secret_sealed=old.seal(b"api-secret", f"api-key:{key_id}")))
    # when: the new key goes first, the old one stays, and the operator rotates (twice)
    env = {**os.environ, "DATABASE_URL": isolated_settings.database_url,
           "REDIS_URL": isolated_settings.redis_url,
           "EXCHANGE_MASTER_KEYS": f"{new_spec},{old_spec}"}
    first, out = await _rotate_keys(env)
    second, again = await _rotate_keys(env)
    # then: both secrets open with the new key alone, in their own contexts
    new_only = Envelope(StaticKeys.parse(new_spec))
    async with db.connect() as conn:
        totp = (await conn.execute(select(totp_credentials.c.secret_sealed).where(
            totp_credentials.c.user_id == user))).scalar_one()
        secret = (await conn.execute(select(api_keys.c.secret_sealed).where(
            api_keys.c.id == key_id))).scalar_one()
    assert (first, second) == (0, 0), (out, again)
    assert "'totp_credentials': 1" in out and "'api_keys': 1" in out
    assert "'totp_credentials': 0" in again and "0 sealed values left" in again
    assert totp.startswith("v1.new1.") and secret.startswith("v1.new1.")
    assert new_only.open(totp, f"totp:{user}") == b"JBSWY3DPEHPK3PXP"
    assert new_only.open(secret, f"api-key:{key_id}") == b"api-secret"
