"""Set an account's status (admin, audited): active, frozen (no trading, no withdrawals) or locked
(no login; its sessions are revoked in the same transaction and refused at once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import users
from backend.domain.errors import InvalidInput, NotFound
from commands.accounts.revoke_sessions import revoke_where
from commands.unit_of_work import UnitOfWork

STATUSES = ("active", "frozen", "locked")


@dataclass(frozen=True)
class SetAccountStatus:
    actor_id: uuid.UUID
    user_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class AccountStatusChanged:
    user_id: uuid.UUID
    previous_status: str
    status: str
    revoked_sessions: int


def _validate(cmd: SetAccountStatus) -> tuple[uuid.UUID, str, str]:
    try:
        user_id = uuid.UUID(cmd.user_id.strip())
    except ValueError:
        raise InvalidInput("userId", "userId is not a user id") from None
    status = cmd.status.lower()
    if status not in STATUSES:
        raise InvalidInput("status", "status must be ACTIVE, FROZEN or LOCKED")
    reason = cmd.reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("reason", "reason must be 3 to 500 characters")
    if user_id == cmd.actor_id:
        raise InvalidInput("userId", "an admin cannot change their own status")
    return user_id, status, reason


async def set_account_status(cmd: SetAccountStatus, uow: UnitOfWork) -> AccountStatusChanged:
    user_id, status, reason = _validate(cmd)
    # FOR UPDATE: orders and withdrawals read the status FOR SHARE, so none is accepted on the
    # strength of a status this transaction is replacing.
    before = (
        await uow.conn.execute(
            select(users.c.status).where(users.c.id == user_id).with_for_update()
        )
    ).scalar_one_or_none()
    if before is None:
        raise NotFound("no user with this id")
    if before == status:
        return AccountStatusChanged(user_id, before, status, 0)
    await uow.conn.execute(update(users).where(users.c.id == user_id).values(status=status))
    revoked = await revoke_where(uow.conn, user_id, by="admin") if status == "locked" else []
    change = {"before": before, "after": status, "reason": reason}
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{user_id}",
                "account.status_changed",
                {"user_id": str(user_id), **change, "revoked_sessions": len(revoked)},
            )
        ],
    )
    await record_audit(
        uow.conn,
        "account.status_set",
        f"user:{user_id}",
        reason=reason,
        before={"status": before},
        after={"status": status, "revoked_sessions": [str(s) for s in revoked]},
    )
    return AccountStatusChanged(user_id, before, status, len(revoked))
