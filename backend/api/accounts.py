"""Registration, login and `me`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.account_security import AccountSecurity, security_of
from backend.api.context import Info
from backend.api.errors import (
    AccountUnavailableError,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidSecondFactorError,
    LoginLockedError,
    SecondFactorRequiredError,
    ValidationError,
)
from backend.api.execution import execute
from backend.api.ledger import Balance, LedgerEntry, balances_of, ledger_entries_of
from backend.api.login_protection import count_login_outcome, login_refusal
from backend.api.pagination import Connection
from backend.api.permissions import READ, SESSION_ONLY, current_user
from backend.api.second_factor import SecondFactorInput, proof_of
from commands.accounts.end_session import EndSession
from commands.accounts.register_user import RegisterUser
from commands.accounts.start_session import StartedSession, StartSession
from queries.accounts import get_user
from queries.sessions import get_anti_phishing_code
from queries.views import UserView


@strawberry.type(description="An exchange account.")
class User:
    id: strawberry.ID = strawberry.field(description="Stable account id.")
    email: str = strawberry.field(description="Login email, lower-case.")
    role: str = strawberry.field(description="`user` or `admin`.")
    status: str = strawberry.field(description="`active`, `frozen` or `locked`.")
    created_at: datetime = strawberry.field(description="When the account was opened.")

    @classmethod
    def from_view(cls, view: UserView) -> User:
        return cls(
            id=strawberry.ID(str(view.id)),
            email=view.email,
            role=view.role,
            status=view.status,
            created_at=view.created_at,
        )

    @strawberry.field(description="Balances per asset.")
    async def balances(self, info: Info) -> list[Balance]:
        return await balances_of(info, uuid.UUID(self.id))

    @strawberry.field(
        description="My anti-phishing code, shown in every email we send; null if not set, and"
        " null to anyone but the account's owner."
    )
    async def anti_phishing_code(self, info: Info) -> str | None:
        viewer = info.context.user
        if viewer is None or str(viewer.user.id) != self.id:
            return None
        async with info.context.services.engine.connect() as conn:
            return await get_anti_phishing_code(conn, viewer.user.id)

    @strawberry.field(description="Account statement, newest first.")
    async def ledger_entries(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue from.")
        ] = None,
    ) -> Connection[LedgerEntry]:
        return await ledger_entries_of(info, uuid.UUID(self.id), first, after)

    @strawberry.field(description="Second factors and the withdrawal lock.")
    async def security(self, info: Info) -> AccountSecurity:
        return await security_of(info, uuid.UUID(self.id))


@strawberry.type(description="A signed-in session. Send the token as `Authorization: Bearer`.")
class Session:
    token: str = strawberry.field(description="Bearer token; shown only now.")
    expires_at: datetime = strawberry.field(description="When the session ends.")
    user: User = strawberry.field(description="Who signed in.")


@strawberry.type(description="The account was created.")
class RegisterSuccess:
    user: User = strawberry.field(description="The new account.")


@strawberry.input(description="Open an account.")
class RegisterInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="8 to 128 characters.")


@strawberry.input(description="Sign in.")
class LoginInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="Password.")
    second_factor: SecondFactorInput | None = strawberry.field(
        default=None,
        description="Needed when two-factor authentication is enabled (see"
        " SecondFactorRequiredError.methods).",
    )


RegisterResult = Annotated[
    RegisterSuccess | ValidationError | EmailTakenError, strawberry.union("RegisterResult")
]
LoginResult = Annotated[
    Session
    | InvalidCredentialsError
    | AccountUnavailableError
    | ValidationError
    | SecondFactorRequiredError
    | InvalidSecondFactorError
    | LoginLockedError,
    strawberry.union("LoginResult"),
]


async def _user(info: Info, user_id: uuid.UUID) -> User:
    async with info.context.services.engine.connect() as conn:
        view = await get_user(conn, user_id)
    if view is None:
        raise LookupError(f"user {user_id} vanished")
    return User.from_view(view)


async def user_by_id(info: Info, user_id: uuid.UUID) -> User:
    """The account as it is now (for other areas' payloads)."""
    return await _user(info, user_id)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Open an account. Retrying the same email and password"
        " returns the same account."
    )
    async def register(self, info: Info, input: RegisterInput) -> RegisterResult:
        async def present(user_id: uuid.UUID) -> RegisterSuccess:
            return RegisterSuccess(user=await _user(info, user_id))

        return await execute(info, lambda: RegisterUser(input.email, input.password), present)

    @strawberry.mutation(description="Sign in; returns a revocable session token.")
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        request = info.context.request
        settings = info.context.services.settings

        async def present(started: StartedSession) -> Session:
            return Session(
                token=started.token,
                expires_at=started.expires_at,
                user=await _user(info, started.user_id),
            )

        if (locked := await login_refusal(info, input.email)) is not None:
            return locked
        result = await execute(
            info,
            lambda: StartSession(
                input.email,
                input.password,
                settings.session_ttl_seconds,
                ip=info.context.client_ip,
                user_agent=request.headers.get("user-agent"),
                second_factor=proof_of(input.second_factor),
                settings=settings,
            ),
            present,
        )
        await count_login_outcome(info, input.email, result, Session)
        return result


@strawberry.type(description="The session was revoked.")
class LogoutResult:
    revoked: bool = strawberry.field(description="False if it was already revoked.")


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        permission_classes=SESSION_ONLY,
        description="Revoke the current session: its token stops working now.",
    )
    async def logout(self, info: Info) -> LogoutResult:
        session = current_user(info)

        async def present(revoked: bool) -> LogoutResult:
            return LogoutResult(revoked=revoked)

        return await execute(info, lambda: EndSession(session.user.id, session.session_id), present)


@strawberry.type
class AccountQuery:
    @strawberry.field(permission_classes=READ, description="The signed-in account.")
    async def me(self, info: Info) -> User:
        return User.from_view(current_user(info).user)
