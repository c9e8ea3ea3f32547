"""Applies ledger transfers to the write store: postings, balances and one event, atomically."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.event_store import NewEvent, append_events
from backend.db.tables import ledger_accounts, transfers
from backend.domain.errors import InsufficientFunds
from backend.domain.ledger import AccountKind, AccountRef, Transfer


@dataclass(frozen=True)
class PostedTransfer:
    transfer: Transfer
    account_ids: dict[AccountRef, int]
    applied: bool  # False when this transfer id had already been posted (idempotent retry)


async def account_ids(
    conn: AsyncConnection, refs: set[AccountRef], cache: dict[AccountRef, int] | None = None
) -> dict[AccountRef, int]:
    """Row ids of the given accounts, creating the missing ones. A `cache` (kept by a caller that
    posts again and again, such as the matcher) is asked first and learns what was looked up."""
    if cache is not None:
        known = {ref: cache[ref] for ref in refs if ref in cache}
        if len(known) < len(refs):
            found = await account_ids(conn, refs - known.keys())
            cache.update(found)
            known.update(found)
        return known
    if not refs:
        return {}
    rows = [
        {
            "asset": ref.asset,
            "user_id": ref.user_id,
            "kind": ref.kind.value,
            "may_go_negative": ref.kind is AccountKind.EXTERNAL,
        }
        for ref in sorted(refs, key=_sort_key)
    ]
    await conn.execute(insert(ledger_accounts).on_conflict_do_nothing(), rows)
    keys = [(ref.asset, ref.user_id, ref.kind.value) for ref in refs]
    result = await conn.execute(
        select(
            ledger_accounts.c.id,
            ledger_accounts.c.asset,
            ledger_accounts.c.user_id,
            ledger_accounts.c.kind,
        ).where(
            tuple_(
                ledger_accounts.c.asset,
                func.coalesce(ledger_accounts.c.user_id, _NIL),
                ledger_accounts.c.kind,
            ).in_([(a, u if u is not None else _NIL, k) for a, u, k in keys])
        )
    )
    return {AccountRef(r.asset, r.user_id, AccountKind(r.kind)): r.id for r in result}


_NIL = uuid.UUID(int=0)  # stands for "no owner" so system accounts compare in the IN list


def _sort_key(ref: AccountRef) -> tuple[str, str, str]:
    return (ref.asset, str(ref.user_id or ""), ref.kind.value)


async def post_transfer(
    conn: AsyncConnection,
    transfer: Transfer,
    *,
    metadata: dict[str, Any] | None = None,
    account_cache: dict[AccountRef, int] | None = None,
) -> PostedTransfer:
    """Post `transfer` once. Raises InsufficientFunds (and changes nothing) if any account that
    may not go negative would; the caller's transaction then rolls back as a whole.
    `account_cache`: see `account_ids` (only for a caller that drops it with a failed
    transaction, since an account created there is rolled back too)."""
    inserted = await conn.execute(
        insert(transfers)
        .values(
            id=transfer.id, kind=transfer.kind, reference=transfer.reference, memo=transfer.memo
        )
        .on_conflict_do_nothing()
        .returning(transfers.c.id)
    )
    if inserted.first() is None:
        return PostedTransfer(transfer, {}, applied=False)  # posted before: change nothing
    net = transfer.net_by_account()
    ids = await account_ids(conn, set(net), account_cache)
    if not net:
        return PostedTransfer(transfer, ids, applied=True)  # postings that cancel out
    ordered = sorted(net, key=lambda r: ids[r])
    account_list = [ids[ref] for ref in ordered]
    amounts = [net[ref] for ref in ordered]
    await _apply_deltas(conn, ordered, account_list, amounts)
    await conn.execute(
        _INSERT_POSTINGS, {"t": transfer.id, "ids": account_list, "amounts": amounts}
    )
    await append_events(conn, [transfer_posted_event(transfer, ids, net, metadata or {})])
    return PostedTransfer(transfer, ids, applied=True)


# Lock the rows in id order first, so concurrent transfers over the same accounts never
# deadlock; then one guarded UPDATE for all of them (a batch of trades touches hundreds).
_LOCK = text(
    "SELECT id FROM ledger_accounts WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
)
_UPDATE = text(
    "UPDATE ledger_accounts a SET balance = a.balance + v.delta"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[])) AS v(id, delta)"
    " WHERE a.id = v.id AND (a.may_go_negative OR a.balance + v.delta >= 0) RETURNING a.id"
)
_INSERT_POSTINGS = text(
    "INSERT INTO postings (transfer_id, account_id, amount)"
    " SELECT :t, v.id, v.amount"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[])) AS v(id, amount)"
)


async def _apply_deltas(
    conn: AsyncConnection, refs: list[AccountRef], account_list: list[int], amounts: list[Decimal]
) -> None:
    """Raises InsufficientFunds naming the asset when an account may not go that low."""
    if len(account_list) > 1:
        await conn.execute(_LOCK, {"ids": account_list})
    updated = {r.id for r in await conn.execute(_UPDATE, {"ids": account_list, "amounts": amounts})}
    for ref, account_id in zip(refs, account_list, strict=True):
        if account_id not in updated:
            raise InsufficientFunds(ref.asset)


def transfer_posted_event(
    transfer: Transfer,
    ids: dict[AccountRef, int],
    net: dict[AccountRef, Decimal],
    metadata: dict[str, Any],
) -> NewEvent:
    return NewEvent(
        stream=f"transfer:{transfer.id}",
        event_type="ledger.transfer_posted",
        data={
            "transfer_id": transfer.id,
            "kind": transfer.kind,
            "reference": transfer.reference,
            "postings": [
                {
                    "account_id": ids[ref],
                    "asset": ref.asset,
                    "user_id": str(ref.user_id) if ref.user_id else None,
                    "kind": ref.kind.value,
                    "amount": str(amount),
                }
                for ref, amount in sorted(net.items(), key=lambda item: ids[item[0]])
            ],
        },
        metadata=metadata,
    )
