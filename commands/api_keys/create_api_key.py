"""Create an API key: scopes, optional IP allowlist, a secret returned once and stored sealed."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select

from backend.db.api_key_tables import api_keys
from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import users
from backend.domain.errors import InvalidInput, LimitExceeded
from backend.security import ip_allowlist
from backend.security.envelope import envelope_for
from backend.settings import Settings
from commands.accounts.second_factor import SecondFactorProof, require_second_factor
from commands.unit_of_work import UnitOfWork
from queries.api_keys import SCOPES

MAX_LABEL = 64


@dataclass(frozen=True)
class CreateApiKey:
    user_id: uuid.UUID
    label: str
    scopes: tuple[str, ...]
    ip_allowlist: tuple[str, ...]
    proof: SecondFactorProof | None
    settings: Settings = field(repr=False)


@dataclass(frozen=True)
class CreatedApiKey:
    id: uuid.UUID
    secret: str = field(repr=False)


def secret_context(key_id: uuid.UUID) -> str:
    """The envelope context: a sealed secret opens only for its own key."""
    return f"api-key:{key_id}"


def _check(cmd: CreateApiKey) -> tuple[str, list[str], list[str]]:
    label = cmd.label.strip()
    if not label:
        raise InvalidInput("label", "label must not be empty")
    if len(label) > MAX_LABEL or not label.isprintable():
        raise InvalidInput("label", f"label must be 1 to {MAX_LABEL} printable characters")
    if not cmd.scopes:
        raise InvalidInput("scopes", "give at least one scope")
    unknown = [s for s in cmd.scopes if s not in SCOPES]
    if unknown:
        raise InvalidInput(
            "scopes", f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}"
        )
    scopes = [s for s in SCOPES if s in cmd.scopes]
    return label, scopes, ip_allowlist.normalize(cmd.ip_allowlist)


async def create_api_key(cmd: CreateApiKey, uow: UnitOfWork) -> CreatedApiKey:
    label, scopes, networks = _check(cmd)
    conn = uow.conn
    # Serializes one user's creations so two concurrent requests cannot both pass the limit.
    await conn.execute(select(users.c.id).where(users.c.id == cmd.user_id).with_for_update())
    live = (
        await conn.execute(
            select(func.count())
            .select_from(api_keys)
            .where(api_keys.c.user_id == cmd.user_id, api_keys.c.revoked_at.is_(None))
        )
    ).scalar_one()
    if live >= cmd.settings.max_api_keys_per_user:
        raise LimitExceeded(
            f"at most {cmd.settings.max_api_keys_per_user} API keys; revoke one first"
        )
    # A key that can move funds out always needs 2FA; the others when the user enabled it.
    await require_second_factor(
        conn, cmd.user_id, cmd.proof, cmd.settings, always="WITHDRAW" in scopes
    )
    key_id = uuid.uuid4()
    secret = secrets.token_hex(32)
    sealed = envelope_for(cmd.settings).seal(secret.encode(), secret_context(key_id))
    await conn.execute(
        api_keys.insert().values(
            id=key_id,
            user_id=cmd.user_id,
            label=label,
            scopes=scopes,
            ip_allowlist=networks,
            secret_sealed=sealed,
        )
    )
    public = {"id": str(key_id), "label": label, "scopes": scopes, "ip_allowlist": networks}
    await append_events(
        conn,
        [NewEvent(f"user:{cmd.user_id}", "account.api_key_created", {**public})],
    )
    await record_audit(conn, "api_key.create", f"api_key:{key_id}", after=public)
    return CreatedApiKey(key_id, secret)
