"""Set the anti-phishing code every email from us will show."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import users
from backend.domain.errors import InvalidInput
from commands.unit_of_work import UnitOfWork

CODE = re.compile(r"[A-Za-z0-9]{4,20}")


@dataclass(frozen=True)
class SetAntiPhishingCode:
    user_id: uuid.UUID
    code: str


def masked(code: str | None) -> str | None:
    """For the audit log and events: enough to tell codes apart, not enough to forge an email."""
    return None if code is None else code[:2] + "*" * (len(code) - 2)


async def set_anti_phishing_code(cmd: SetAntiPhishingCode, uow: UnitOfWork) -> uuid.UUID:
    # ASCII only: str.isalnum() would let other scripts' letters and digits through.
    if not CODE.fullmatch(cmd.code):
        raise InvalidInput("code", "the code must be 4 to 20 letters A-Z, a-z or digits 0-9")
    before = (
        await uow.conn.execute(
            select(users.c.anti_phishing_code).where(users.c.id == cmd.user_id).with_for_update()
        )
    ).scalar_one()
    if before == cmd.code:
        return cmd.user_id
    await uow.conn.execute(
        update(users).where(users.c.id == cmd.user_id).values(anti_phishing_code=cmd.code)
    )
    change = {"before": masked(before), "after": masked(cmd.code)}
    await append_events(
        uow.conn,
        [
            NewEvent(
                f"user:{cmd.user_id}",
                "account.anti_phishing_code_set",
                {"user_id": str(cmd.user_id), **change},
            )
        ],
    )
    await record_audit(
        uow.conn,
        "account.anti_phishing_code_set",
        f"user:{cmd.user_id}",
        before={"anti_phishing_code": change["before"]},
        after={"anti_phishing_code": change["after"]},
    )
    return cmd.user_id
