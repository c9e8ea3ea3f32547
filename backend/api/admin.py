"""Admin operations: assets, markets, balance adjustments, users and reconciliation."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from backend.api.accounts import User
from backend.api.context import Info
from backend.api.errors import (
    AlreadyExistsError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    NotFoundError,
    ValidationError,
)
from backend.api.execution import execute
from backend.api.ledger import Balance, balances_of
from backend.api.markets import Asset, Market, MarketStatus, market_by_symbol
from backend.api.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_cursor,
    encode_cursor,
    page_size,
)
from backend.api.permissions import ADMIN_ONLY, current_user
from backend.domain.errors import InvalidInput
from backend.domain.markets import MarketConfig
from backend.domain.markets import MarketStatus as DomainMarketStatus
from backend.domain.money import fixed, require_decimal
from commands.admin.adjust_balance import AdjustBalance, BalanceAdjusted
from commands.admin.create_asset import CreateAsset
from commands.admin.create_market import CreateMarket
from commands.admin.update_market import UpdateMarket
from queries.accounts import list_users
from queries.ledger import reconcile

ADMIN = ADMIN_ONLY


@strawberry.input(description="A new asset.")
class CreateAssetInput:
    code: str = strawberry.field(description="2-16 upper-case letters or digits; its client id.")
    precision: int = strawberry.field(description="Decimal places, 0 to 18.")


@strawberry.input(description='A new market. Fees and bands are fractions: "0.001" is 0.1%.')
class CreateMarketInput:
    symbol: str = strawberry.field(description="BASE-QUOTE; its client id.")
    base: str = strawberry.field(description="Base asset code.")
    quote: str = strawberry.field(description="Quote asset code.")
    tick_size: Decimal = strawberry.field(description="Price increment.")
    step_size: Decimal = strawberry.field(description="Quantity increment.")
    min_quantity: Decimal = strawberry.field(description="Smallest quantity.")
    max_quantity: Decimal = strawberry.field(description="Largest quantity.")
    min_notional: Decimal = strawberry.field(default=Decimal(0), description="Smallest notional.")
    maker_fee: Decimal = strawberry.field(default=Decimal("0.001"), description="Maker fee.")
    taker_fee: Decimal = strawberry.field(default=Decimal("0.001"), description="Taker fee.")
    price_band: Decimal = strawberry.field(
        default=Decimal("0.2"), description="Limit price band around the last price."
    )
    market_protection: Decimal = strawberry.field(
        default=Decimal("0.05"), description="How far a market order may walk the book."
    )


@strawberry.input(description="Change a market; fields left out keep their value.")
class UpdateMarketInput:
    symbol: str = strawberry.field(description="The market to change.")
    tick_size: Decimal | None = strawberry.field(default=None, description="Price increment.")
    step_size: Decimal | None = strawberry.field(default=None, description="Quantity increment.")
    min_quantity: Decimal | None = strawberry.field(default=None, description="Smallest quantity.")
    max_quantity: Decimal | None = strawberry.field(default=None, description="Largest quantity.")
    min_notional: Decimal | None = strawberry.field(default=None, description="Smallest notional.")
    maker_fee: Decimal | None = strawberry.field(default=None, description="Maker fee.")
    taker_fee: Decimal | None = strawberry.field(default=None, description="Taker fee.")
    price_band: Decimal | None = strawberry.field(default=None, description="Limit price band.")
    market_protection: Decimal | None = strawberry.field(
        default=None, description="Market order bound."
    )
    status: MarketStatus | None = strawberry.field(default=None, description="New status.")
    reason: str | None = strawberry.field(default=None, description="Why, for the audit log.")


@strawberry.input(description="Credit (positive) or debit (negative) a user's available balance.")
class AdjustBalanceInput:
    user_id: strawberry.ID = strawberry.field(description="The account.")
    asset: str = strawberry.field(description="Asset code.")
    amount: Decimal = strawberry.field(description="Signed amount at most the asset's precision.")
    reason: str = strawberry.field(description="Why, for the audit log (3-500 characters).")
    idempotency_key: str = strawberry.field(
        description="Retries with the same key return the first result."
    )


@strawberry.type(description="A posted balance adjustment.")
class BalanceAdjustment:
    transfer_id: str = strawberry.field(description="The ledger transfer.")
    user_id: strawberry.ID = strawberry.field(description="The account.")
    asset: str = strawberry.field(description="Asset code.")
    amount: Decimal = strawberry.field(description="Signed amount.")
    balance: Balance | None = strawberry.field(description="The balance after all changes so far.")


@strawberry.type(description="Ledger figures of one asset; `balanced` when all agree.")
class ReconciliationRow:
    asset: str = strawberry.field(description="Asset code.")
    ledger_total: Decimal = strawberry.field(
        description="Sum of postings into user and system accounts."
    )
    balances_total: Decimal = strawberry.field(
        description="Sum of the stored balances of user and system accounts."
    )
    external_net: Decimal = strawberry.field(
        description="Net amount that entered from outside (minus the external account)."
    )
    mismatched_accounts: int = strawberry.field(
        description="Accounts whose stored balance differs from the sum of their postings."
    )
    unbalanced_transfers: int = strawberry.field(
        description="Transfers whose postings do not sum to zero."
    )
    balanced: bool = strawberry.field(description="Every figure agrees.")


CreateAssetResult = Annotated[
    Asset | ValidationError | AlreadyExistsError, strawberry.union("CreateAssetResult")
]
CreateMarketResult = Annotated[
    Market | ValidationError | AlreadyExistsError, strawberry.union("CreateMarketResult")
]
UpdateMarketResult = Annotated[
    Market | ValidationError | NotFoundError, strawberry.union("UpdateMarketResult")
]
AdjustBalanceResult = Annotated[
    BalanceAdjustment | ValidationError | InsufficientFundsError | IdempotencyKeyReusedError,
    strawberry.union("AdjustBalanceResult"),
]

_DECIMAL_FIELDS = {
    "tick_size": "tickSize",
    "step_size": "stepSize",
    "min_quantity": "minQuantity",
    "max_quantity": "maxQuantity",
    "min_notional": "minNotional",
    "maker_fee": "makerFee",
    "taker_fee": "takerFee",
    "price_band": "priceBand",
    "market_protection": "marketProtection",
}


def _market_config(i: CreateMarketInput) -> MarketConfig:
    values: dict[str, Any] = {
        name: require_decimal(getattr(i, name), api) for name, api in _DECIMAL_FIELDS.items()
    }
    return MarketConfig(symbol=i.symbol, base=i.base, quote=i.quote, **values)


def _market_changes(i: UpdateMarketInput) -> dict[str, object]:
    changes: dict[str, object] = {
        name: require_decimal(getattr(i, name), api)
        for name, api in _DECIMAL_FIELDS.items()
        if getattr(i, name) is not None
    }
    if i.status is not None:
        changes["status"] = DomainMarketStatus(i.status.value)
    return changes


def _actor(info: Info) -> uuid.UUID:
    return current_user(info).user.id


@strawberry.type
class AdminMutation:
    @strawberry.mutation(permission_classes=ADMIN, description="Create an asset (audited).")
    async def admin_create_asset(self, info: Info, input: CreateAssetInput) -> CreateAssetResult:
        async def present(code: str) -> Asset:
            return Asset(code=code, precision=input.precision)

        return await execute(info, lambda: CreateAsset(input.code, input.precision), present)

    @strawberry.mutation(permission_classes=ADMIN, description="Create a market (audited).")
    async def admin_create_market(self, info: Info, input: CreateMarketInput) -> CreateMarketResult:
        return await execute(
            info,
            lambda: CreateMarket(_market_config(input)),
            lambda symbol: market_by_symbol(info, symbol),
        )

    @strawberry.mutation(permission_classes=ADMIN, description="Change a market (audited).")
    async def admin_update_market(self, info: Info, input: UpdateMarketInput) -> UpdateMarketResult:
        return await execute(
            info,
            lambda: UpdateMarket(input.symbol, _market_changes(input), input.reason),
            lambda symbol: market_by_symbol(info, symbol),
        )

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Credit or debit a balance against the external account (audited, idempotent).",
    )
    async def admin_adjust_balance(
        self, info: Info, input: AdjustBalanceInput
    ) -> AdjustBalanceResult:
        async def present(done: BalanceAdjusted) -> BalanceAdjustment:
            balances = await balances_of(info, done.user_id)
            return BalanceAdjustment(
                transfer_id=done.transfer_id,
                user_id=strawberry.ID(str(done.user_id)),
                asset=done.asset,
                amount=done.amount,
                balance=next((b for b in balances if b.asset == done.asset), None),
            )

        return await execute(
            info,
            lambda: AdjustBalance(
                _actor(info),
                str(input.user_id),
                input.asset,
                input.amount,
                input.reason,
                input.idempotency_key,
            ),
            present,
        )


@strawberry.type
class AdminQuery:
    @strawberry.field(
        permission_classes=ADMIN,
        description="Ledger reconciliation per asset, from independently stored figures.",
    )
    async def reconciliation(self, info: Info) -> list[ReconciliationRow]:
        async with info.context.services.engine.connect() as conn:
            rows = await reconcile(conn)
        return [
            ReconciliationRow(
                asset=r.asset,
                ledger_total=Decimal(fixed(r.ledger_total, r.precision)),
                balances_total=Decimal(fixed(r.balances_total, r.precision)),
                external_net=Decimal(fixed(r.external_net, r.precision)),
                mismatched_accounts=r.mismatched_accounts,
                unbalanced_transfers=r.unbalanced_transfers,
                balanced=r.balanced,
            )
            for r in rows
        ]

    @strawberry.field(permission_classes=ADMIN, description="Accounts, oldest first.")
    async def admin_users(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue from.")
        ] = None,
    ) -> Connection[User]:
        try:
            limit = page_size(first, info.context.services.settings.max_page_size)
            cursor = decode_cursor(after, 2)
            keyset = (datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None
        except (InvalidInput, ValueError) as exc:
            raise GraphQLError(str(exc), extensions={"code": "VALIDATION_ERROR"}) from None
        async with info.context.services.engine.connect() as conn:
            rows = await list_users(conn, keyset, limit + 1)
        page = rows[:limit]
        return Connection(
            edges=[
                Edge(cursor=encode_cursor(u.created_at.isoformat(), u.id), node=User.from_view(u))
                for u in page
            ],
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_cursor=encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
                if page
                else None,
            ),
        )
