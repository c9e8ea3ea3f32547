"""Credit or debit a user's available balance against the external account (admin, audited)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backend.db.audit import record_audit
from backend.db.event_store import NewEvent, append_events
from backend.db.ledger import post_transfer
from backend.db.tables import users
from backend.domain.errors import InvalidInput
from backend.domain.ledger import AccountKind, AccountRef, move
from backend.domain.money import require_decimal
from commands.admin.markets import asset_precision
from commands.idempotency import check_key, claim, remember, request_hash
from commands.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AdjustBalance:
    actor_id: uuid.UUID
    user_id: str
    asset: str
    amount: object  # Decimal, or the scalar's InvalidDecimal marker; validated here
    reason: str
    idempotency_key: str


@dataclass(frozen=True)
class BalanceAdjusted:
    transfer_id: str
    user_id: uuid.UUID
    asset: str
    amount: Decimal


async def adjust_balance(cmd: AdjustBalance, uow: UnitOfWork) -> BalanceAdjusted:
    key = check_key(cmd.idempotency_key)
    user_id = _parse_user_id(cmd.user_id)
    precision = await asset_precision(uow.conn, cmd.asset, "asset")
    amount = require_decimal(cmd.amount, "amount", precision=precision, non_zero=True)
    reason = cmd.reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("reason", "reason must be 3 to 500 characters")
    exists = (await uow.conn.execute(select(users.c.id).where(users.c.id == user_id))).first()
    if exists is None:
        raise InvalidInput("userId", "no user with this id")

    scope = f"adjust:{cmd.actor_id}"
    fingerprint = request_hash(
        "adjust_balance",
        {"user_id": str(user_id), "asset": cmd.asset, "amount": str(amount), "reason": reason},
    )
    previous = await claim(uow.conn, scope, key, "adjust_balance", fingerprint)
    if previous is not None:
        return _from_json(previous)

    transfer_id = f"adjust:{cmd.actor_id}:{key}"
    user_account = AccountRef.user(user_id, cmd.asset, AccountKind.AVAILABLE)
    external = AccountRef.system(cmd.asset, AccountKind.EXTERNAL)
    source, target = (external, user_account) if amount > 0 else (user_account, external)
    await post_transfer(
        uow.conn,
        move(
            transfer_id,
            "adjustment",
            source,
            target,
            abs(amount),
            reference=f"user:{user_id}",
            memo=reason,
        ),
    )
    result = BalanceAdjusted(transfer_id, user_id, cmd.asset, amount)
    as_json = _to_json(result)
    await append_events(
        uow.conn,
        [NewEvent(f"user:{user_id}", "admin.balance_adjusted", {**as_json, "reason": reason})],
    )
    await record_audit(uow.conn, "balance.adjust", f"user:{user_id}", reason=reason, after=as_json)
    await remember(uow.conn, scope, key, as_json)
    return result


def _parse_user_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput("userId", "userId is not a valid id") from None


def _to_json(result: BalanceAdjusted) -> dict[str, Any]:
    return {
        "transfer_id": result.transfer_id,
        "user_id": str(result.user_id),
        "asset": result.asset,
        "amount": str(result.amount),
    }


def _from_json(data: dict[str, Any]) -> BalanceAdjusted:
    return BalanceAdjusted(
        data["transfer_id"], uuid.UUID(data["user_id"]), data["asset"], Decimal(data["amount"])
    )
