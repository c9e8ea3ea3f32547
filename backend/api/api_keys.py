"""API keys for bots: create (the secret is shown once), list, revoke; the admin's tier flag."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import (
    InvalidSecondFactorError,
    LimitExceededError,
    NotFoundError,
    SecondFactorRequiredError,
    ValidationError,
)
from backend.api.execution import execute
from backend.api.permissions import ADMIN_ONLY, SESSION_ONLY, current_user
from backend.api.second_factor import SecondFactorInput, proof_of
from backend.domain.errors import InvalidInput
from commands.api_keys.create_api_key import CreateApiKey, CreatedApiKey
from commands.api_keys.revoke_api_key import RevokeApiKey
from commands.api_keys.set_market_maker import SetApiKeyMarketMaker
from queries.api_keys import ApiKeyView, get_api_key, list_api_keys


@strawberry.enum(name="ApiKeyScope", description="What an API key may do.")
class ApiKeyScopeName(Enum):
    READ = strawberry.enum_value("READ", description="Read my account and public market data.")
    TRADE = strawberry.enum_value("TRADE", description="Place, amend and cancel spot orders.")
    WITHDRAW = strawberry.enum_value("WITHDRAW", description="Withdraw funds (needs 2FA).")


@strawberry.type(description="An API key for a bot. Its secret is shown only when created.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Send it as the X-API-Key header.")
    label: str = strawberry.field(description="The owner's name for it.")
    scopes: list[ApiKeyScopeName] = strawberry.field(description="What it may do.")
    ip_allowlist: list[str] = strawberry.field(
        description="Networks (CIDR) it may be used from; empty: any."
    )
    market_maker: bool = strawberry.field(description="In the market-maker rate-limit tier.")
    created_at: datetime = strawberry.field(description="When it was created.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null: live.")

    @classmethod
    def from_view(cls, view: ApiKeyView) -> ApiKey:
        return cls(
            id=strawberry.ID(str(view.id)),
            label=view.label,
            scopes=[ApiKeyScopeName[s] for s in view.scopes],
            ip_allowlist=list(view.ip_allowlist),
            market_maker=view.market_maker,
            created_at=view.created_at,
            revoked_at=view.revoked_at,
        )


@strawberry.type(
    description="The new key and its secret. Store the secret now: it is not shown again."
)
class CreatedApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret: str = strawberry.field(description="HMAC-SHA256 key for X-Signature; shown only now.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    label: str = strawberry.field(description="1 to 64 printable characters.")
    scopes: list[ApiKeyScopeName] = strawberry.field(description="At least one scope.")
    ip_allowlist: list[str] = strawberry.field(
        default_factory=list, description="IP addresses or CIDR networks; empty: any address."
    )
    second_factor: SecondFactorInput | None = strawberry.field(
        default=None, description="Needed for WITHDRAW keys, and for any key once 2FA is on."
    )


@strawberry.input(description="Move a key into or out of the market-maker rate-limit tier.")
class SetApiKeyMarketMakerInput:
    api_key_id: strawberry.ID = strawberry.field(description="The key.")
    market_maker: bool = strawberry.field(description="True: the higher tier.")
    reason: str = strawberry.field(description="Why (audited).")


CreateApiKeyResult = Annotated[
    CreatedApiKeyPayload
    | ValidationError
    | LimitExceededError
    | SecondFactorRequiredError
    | InvalidSecondFactorError,
    strawberry.union("CreateApiKeyResult"),
]
RevokeApiKeyResult = Annotated[
    ApiKey | NotFoundError | ValidationError, strawberry.union("RevokeApiKeyResult")
]
SetApiKeyMarketMakerResult = Annotated[
    ApiKey | NotFoundError | ValidationError, strawberry.union("SetApiKeyMarketMakerResult")
]


def _key_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(field, f"{field} is not an API key id") from None


async def _present(info: Info, key_id: uuid.UUID) -> ApiKey:
    async with info.context.services.engine.connect() as conn:
        view = await get_api_key(conn, key_id)
    if view is None:
        raise LookupError(f"API key {key_id} vanished")
    return ApiKey.from_view(view)


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        permission_classes=SESSION_ONLY,
        description="Create an API key (from a password session only). Audited.",
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyResult:
        user_id = current_user(info).user.id

        async def present(created: CreatedApiKey) -> CreatedApiKeyPayload:
            return CreatedApiKeyPayload(
                api_key=await _present(info, created.id), secret=created.secret
            )

        return await execute(
            info,
            lambda: CreateApiKey(
                user_id,
                input.label,
                tuple(s.name for s in input.scopes),
                tuple(input.ip_allowlist),
                proof_of(input.second_factor),
                info.context.services.settings,
            ),
            present,
        )

    @strawberry.mutation(
        permission_classes=SESSION_ONLY,
        description="Revoke one of my API keys: it stops working at once. Audited.",
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyResult:
        user_id = current_user(info).user.id
        return await execute(
            info,
            lambda: RevokeApiKey(user_id, _key_id(id, "id")),
            lambda key_id: _present(info, key_id),
        )

    @strawberry.mutation(
        permission_classes=ADMIN_ONLY,
        description="Put an API key in or out of the market-maker rate-limit tier (audited).",
    )
    async def admin_set_api_key_market_maker(
        self, info: Info, input: SetApiKeyMarketMakerInput
    ) -> SetApiKeyMarketMakerResult:
        return await execute(
            info,
            lambda: SetApiKeyMarketMaker(
                _key_id(input.api_key_id, "apiKeyId"), input.market_maker, input.reason
            ),
            lambda key_id: _present(info, key_id),
        )


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(permission_classes=SESSION_ONLY, description="My API keys, oldest first.")
    async def my_api_keys(
        self,
        info: Info,
        include_revoked: Annotated[
            bool, strawberry.argument(description="Also the revoked ones.")
        ] = False,
    ) -> list[ApiKey]:
        async with info.context.services.engine.connect() as conn:
            views = await list_api_keys(conn, current_user(info).user.id, include_revoked)
        return [ApiKey.from_view(v) for v in views]

    @strawberry.field(permission_classes=ADMIN_ONLY, description="A user's API keys.")
    async def admin_api_keys(self, info: Info, user_id: strawberry.ID) -> list[ApiKey]:
        try:
            owner = uuid.UUID(str(user_id))
        except ValueError:
            return []
        async with info.context.services.engine.connect() as conn:
            views = await list_api_keys(conn, owner, include_revoked=True)
        return [ApiKey.from_view(v) for v in views]
