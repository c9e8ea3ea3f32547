"""Balances and account statements; `myBalances` live over the balances projection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal

import orjson
import strawberry
from graphql import GraphQLError

from backend.api.context import Info
from backend.api.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from backend.api.permissions import READ, current_user
from backend.domain.errors import InvalidInput
from backend.domain.money import fixed
from backend.pubsub import SubscriberLagging
from projections.ledger.balances import balances_channel
from queries.ledger import get_balances, get_projected_balances, list_ledger_entries
from queries.markets import get_asset_precisions
from queries.views import BalanceView, LedgerEntryView


@strawberry.type(description="What a user holds of one asset.")
class Balance:
    asset: str = strawberry.field(description="Asset code.")
    available: Decimal = strawberry.field(description="Free to trade or withdraw.")
    locked: Decimal = strawberry.field(description="Held by open orders and pending withdrawals.")

    @classmethod
    def from_view(cls, view: BalanceView) -> Balance:
        return cls(
            asset=view.asset,
            available=Decimal(fixed(view.available, view.precision)),
            locked=Decimal(fixed(view.locked, view.precision)),
        )


@strawberry.type(description="A balance as of a position in the event log (live updates).")
class BalanceUpdate(Balance):
    position: str = strawberry.field(
        description="Event-log position of this state; updates at or below a snapshot are stale."
    )


@strawberry.type(description="One movement on a user's account.")
class LedgerEntry:
    asset: str = strawberry.field(description="Asset code.")
    account: str = strawberry.field(description="`available` or `locked`.")
    amount: Decimal = strawberry.field(description="Signed: positive credits the account.")
    transfer_id: str = strawberry.field(description="The ledger transfer this entry belongs to.")
    kind: str = strawberry.field(description="Why: `adjustment`, `trade`, `fee`, ...")
    recorded_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_view(cls, view: LedgerEntryView) -> LedgerEntry:
        return cls(
            asset=view.asset,
            account=view.kind,
            amount=Decimal(fixed(view.amount, view.precision)),
            transfer_id=view.transfer_id,
            kind=view.transfer_kind,
            recorded_at=view.recorded_at,
        )


async def balances_of(info: Info, user_id: uuid.UUID) -> list[Balance]:
    async with info.context.services.engine.connect() as conn:
        return [Balance.from_view(v) for v in await get_balances(conn, user_id)]


async def ledger_entries_of(
    info: Info, user_id: uuid.UUID, first: int, after: str | None
) -> Connection[LedgerEntry]:
    try:
        limit = page_size(first, info.context.services.settings.max_page_size)
        cursor = decode_cursor(after, 1)
        before = int(cursor[0]) if cursor else None
    except (InvalidInput, ValueError) as exc:
        raise GraphQLError(str(exc), extensions={"code": "VALIDATION_ERROR"}) from None
    async with info.context.services.engine.connect() as conn:
        rows = await list_ledger_entries(conn, user_id, before, limit + 1)
    page = rows[:limit]
    return Connection(
        edges=[Edge(cursor=encode_cursor(r.position), node=LedgerEntry.from_view(r)) for r in page],
        page_info=PageInfo(
            has_next_page=len(rows) > limit,
            end_cursor=encode_cursor(page[-1].position) if page else None,
        ),
    )


@strawberry.type
class LedgerSubscription:
    @strawberry.subscription(
        permission_classes=READ,
        description="My balances: first the current ones, then each change as it happens.",
    )
    async def my_balances(self, info: Info) -> AsyncGenerator[BalanceUpdate, None]:
        user_id = current_user(info).user.id
        services = info.context.services
        # Subscribe before reading the snapshot, so no change falls between the two.
        async with services.hub.listen(balances_channel(str(user_id))) as queue:
            async with services.engine.connect() as conn:
                precisions = await get_asset_precisions(conn)
                snapshot = await get_projected_balances(conn, user_id)
            seen = {view.asset: position for view, position in snapshot}
            for view, position in snapshot:
                yield _update(view.asset, view.available, view.locked, position, precisions)
            while True:
                raw = await queue.get()
                if raw is None:
                    raise SubscriberLagging("balance updates were dropped; resubscribe")
                msg = orjson.loads(raw)
                if msg["position"] <= seen.get(msg["asset"], 0):
                    continue  # already part of the snapshot
                seen[msg["asset"]] = msg["position"]
                if msg["asset"] not in precisions:
                    async with services.engine.connect() as conn:
                        precisions = await get_asset_precisions(conn)
                yield _update(
                    msg["asset"],
                    Decimal(msg["available"]),
                    Decimal(msg["locked"]),
                    msg["position"],
                    precisions,
                )


def _update(
    asset: str, available: Decimal, locked: Decimal, position: int, precisions: dict[str, int]
) -> BalanceUpdate:
    precision = precisions.get(asset, 18)
    return BalanceUpdate(
        asset=asset,
        available=Decimal(fixed(available, precision)),
        locked=Decimal(fixed(locked, precision)),
        position=str(position),
    )
