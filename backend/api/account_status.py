"""Admin: set an account's status (active, frozen, locked) with a reason, and look a user up."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

import strawberry
from graphql import GraphQLError

from backend.api.accounts import User, user_by_id
from backend.api.context import Info
from backend.api.errors import NotFoundError, ValidationError
from backend.api.execution import execute
from backend.api.permissions import ADMIN_ONLY, current_user
from commands.admin.set_account_status import AccountStatusChanged, SetAccountStatus
from queries.accounts import get_user


@strawberry.enum(description="What an account may do.")
class AccountStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Everything.")
    FROZEN = strawberry.enum_value(
        "FROZEN", description="Log in, look and cancel orders; no new orders, no withdrawals."
    )
    LOCKED = strawberry.enum_value(
        "LOCKED", description="Nothing: no login, and every session ends at once."
    )


@strawberry.input(description="The status to give an account, and why (for the audit log).")
class SetAccountStatusInput:
    user_id: strawberry.ID = strawberry.field(description="The account.")
    status: AccountStatus = strawberry.field(description="The new status.")
    reason: str = strawberry.field(description="Why (3-500 characters).")


@strawberry.type(description="The account's status as set (unchanged if it already had it).")
class AccountStatusChange:
    user: User = strawberry.field(description="The account now.")
    previous_status: AccountStatus = strawberry.field(description="Its status before.")
    revoked_sessions: int = strawberry.field(description="Sessions ended by a lock.")


AdminSetAccountStatusResult = Annotated[
    AccountStatusChange | ValidationError | NotFoundError,
    strawberry.union("AdminSetAccountStatusResult"),
]


@strawberry.type
class AccountStatusMutation:
    @strawberry.mutation(
        permission_classes=ADMIN_ONLY,
        description="Set an account's status with a reason (audited, evented). LOCKED revokes"
        " its sessions; an admin cannot change their own status.",
    )
    async def admin_set_account_status(
        self, info: Info, input: SetAccountStatusInput
    ) -> AdminSetAccountStatusResult:
        actor = current_user(info).user.id

        async def present(done: AccountStatusChanged) -> AccountStatusChange:
            return AccountStatusChange(
                user=await user_by_id(info, done.user_id),
                previous_status=AccountStatus[done.previous_status.upper()],
                revoked_sessions=done.revoked_sessions,
            )

        return await execute(
            info,
            lambda: SetAccountStatus(actor, str(input.user_id), input.status.name, input.reason),
            present,
        )


@strawberry.type
class AccountStatusQuery:
    @strawberry.field(permission_classes=ADMIN_ONLY, description="One account, with its status.")
    async def admin_user(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="User id.")]
    ) -> User | None:
        try:
            user_id = uuid.UUID(str(id).strip())
        except ValueError:
            raise GraphQLError(
                "id is not a user id", extensions={"code": "VALIDATION_ERROR"}
            ) from None
        async with info.context.services.engine.connect() as conn:
            view = await get_user(conn, user_id)
        return User.from_view(view) if view else None
