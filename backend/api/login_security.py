"""My sessions (list, revoke one, revoke the others) and my anti-phishing code."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.accounts import User, user_by_id
from backend.api.context import Info
from backend.api.errors import NotFoundError, ValidationError
from backend.api.execution import execute
from backend.api.permissions import AUTHENTICATED, current_user
from backend.security.user_agent import describe_device
from commands.accounts.anti_phishing import SetAntiPhishingCode
from commands.accounts.revoke_sessions import RevokeOtherSessions, RevokeSession
from queries.sessions import SessionView, list_live_sessions


@strawberry.type(description="A live (unrevoked, unexpired) session of mine.")
class ActiveSession:
    id: strawberry.ID = strawberry.field(description="Pass to `revokeSession`.")
    device: str = strawberry.field(description='From the user agent, e.g. "Firefox on Windows".')
    user_agent: str | None = strawberry.field(description="The User-Agent it logged in with.")
    ip: str | None = strawberry.field(description="The address it was last seen from.")
    created_at: datetime = strawberry.field(description="When it logged in.")
    last_seen_at: datetime = strawberry.field(
        description="When it was last used (updated at most once a minute)."
    )
    expires_at: datetime = strawberry.field(description="When it ends unless revoked first.")
    current: bool = strawberry.field(description="The session making this request.")

    @classmethod
    def from_view(cls, view: SessionView, current_id: uuid.UUID) -> ActiveSession:
        return cls(
            id=strawberry.ID(str(view.id)),
            device=describe_device(view.user_agent),
            user_agent=view.user_agent,
            ip=view.ip,
            created_at=view.created_at,
            last_seen_at=view.last_seen_at,
            expires_at=view.expires_at,
            current=view.id == current_id,
        )


@strawberry.type(description="The session is revoked: its token stops working now.")
class SessionRevoked:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    revoked: bool = strawberry.field(description="False if it had already ended.")


@strawberry.type(description="Every other session of mine is revoked; this one stays.")
class OtherSessionsRevoked:
    revoked_count: int = strawberry.field(description="How many were revoked.")


RevokeSessionResult = Annotated[
    SessionRevoked | NotFoundError | ValidationError, strawberry.union("RevokeSessionResult")
]
SetAntiPhishingCodeResult = Annotated[
    User | ValidationError, strawberry.union("SetAntiPhishingCodeResult")
]


@strawberry.type
class LoginSecurityQuery:
    @strawberry.field(
        permission_classes=AUTHENTICATED, description="My live sessions, most recently used first."
    )
    async def my_sessions(self, info: Info) -> list[ActiveSession]:
        me = current_user(info)
        async with info.context.services.engine.connect() as conn:
            views = await list_live_sessions(conn, me.user.id)
        return [ActiveSession.from_view(v, me.session_id) for v in views]


@strawberry.type
class LoginSecurityMutation:
    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Revoke one of my sessions (this one too, like logout); audited.",
    )
    async def revoke_session(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="An ActiveSession id.")],
    ) -> RevokeSessionResult:
        me = current_user(info)

        async def present(revoked: bool) -> SessionRevoked:
            return SessionRevoked(session_id=id, revoked=revoked)

        return await execute(info, lambda: RevokeSession(me.user.id, str(id)), present)

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Revoke all my sessions except the one making this request; audited.",
    )
    async def revoke_other_sessions(self, info: Info) -> OtherSessionsRevoked:
        me = current_user(info)

        async def present(count: int) -> OtherSessionsRevoked:
            return OtherSessionsRevoked(revoked_count=count)

        result: OtherSessionsRevoked = await execute(
            info, lambda: RevokeOtherSessions(me.user.id, me.session_id), present
        )
        return result

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Set the anti-phishing code shown in every email we send you; audited.",
    )
    async def set_anti_phishing_code(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="4 to 20 letters or digits.")],
    ) -> SetAntiPhishingCodeResult:
        me = current_user(info)

        async def present(user_id: uuid.UUID) -> User:
            return await user_by_id(info, user_id)

        return await execute(info, lambda: SetAntiPhishingCode(me.user.id, code), present)
