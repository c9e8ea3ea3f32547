"""Create an asset. The code is its client id: the same code and precision again is a no-op."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.tables import assets
from backend.domain.errors import AlreadyExists, InvalidInput
from commands.unit_of_work import UnitOfWork

ASSET_CODE = re.compile(r"^[A-Z0-9]{2,16}$")


@dataclass(frozen=True)
class CreateAsset:
    code: str
    precision: int


async def create_asset(cmd: CreateAsset, uow: UnitOfWork) -> str:
    if not ASSET_CODE.match(cmd.code):
        raise InvalidInput("code", "code must be 2 to 16 upper-case letters or digits")
    if not 0 <= cmd.precision <= 18:
        raise InvalidInput("precision", "precision must be between 0 and 18")
    inserted = await uow.conn.execute(
        insert(assets)
        .values(code=cmd.code, precision=cmd.precision)
        .on_conflict_do_nothing()
        .returning(assets.c.code)
    )
    if inserted.first() is None:
        existing = (
            await uow.conn.execute(select(assets.c.precision).where(assets.c.code == cmd.code))
        ).scalar_one()
        if existing != cmd.precision:
            raise AlreadyExists(f"asset {cmd.code} exists with precision {existing}")
        return cmd.code
    after = {"code": cmd.code, "precision": cmd.precision}
    await append_events(uow.conn, [NewEvent(f"asset:{cmd.code}", "admin.asset_created", after)])
    await record_audit(uow.conn, "asset.create", f"asset:{cmd.code}", after=after)
    return cmd.code
