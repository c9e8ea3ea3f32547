"""Admin access to the audit log: browse it and verify its hash chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

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
from backend.api.permissions import ADMIN_ONLY
from backend.db.audit_chain import database_name, verify_chain
from backend.domain.errors import InvalidInput
from backend.security.audit_anchors import anchor_sink
from queries.audit import AuditRecordView, list_audit_records


@strawberry.type(description="One audit record: who did what, when, from where, and why.")
class AuditRecord:
    id: strawberry.ID = strawberry.field(description="Position in the hash chain (1, 2, ...).")
    occurred_at: datetime = strawberry.field(description="When it was recorded.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="The user who acted; null for the system."
    )
    action: str = strawberry.field(description='What was done, e.g. "balance.adjust".')
    target: str = strawberry.field(description='What it was done to, e.g. "user:<id>".')
    reason: str | None = strawberry.field(description="Why, as given.")
    before: str | None = strawberry.field(description="State before, as JSON text.")
    after: str | None = strawberry.field(description="State after, as JSON text.")
    ip: str | None = strawberry.field(description="Client IP of the request.")
    request_id: str | None = strawberry.field(description="The request's X-Request-Id.")
    prev_hash: str = strawberry.field(description="Hash of the previous record (hex SHA-256).")
    hash: str = strawberry.field(description="This record's hash (hex SHA-256).")

    @classmethod
    def from_view(cls, v: AuditRecordView) -> AuditRecord:
        return cls(
            id=strawberry.ID(str(v.id)),
            occurred_at=v.occurred_at,
            actor_id=strawberry.ID(str(v.actor_id)) if v.actor_id else None,
            action=v.action,
            target=v.target,
            reason=v.reason,
            before=v.before,
            after=v.after,
            ip=v.ip,
            request_id=v.request_id,
            prev_hash=v.prev_hash,
            hash=v.hash,
        )


@strawberry.type(description="The result of checking the audit chain from its first record.")
class AuditChainVerification:
    ok: bool = strawberry.field(description="Every link, the head and every anchor agree.")
    checked: int = strawberry.field(description="Records checked before stopping.")
    first_broken_id: strawberry.ID | None = strawberry.field(
        description="The first record that breaks the chain (may be a missing one)."
    )
    reason: str | None = strawberry.field(description="What is wrong there.")
    anchors_checked: int = strawberry.field(
        description="Exported head hashes (anchors) compared with the chain."
    )


def _invalid(exc: Exception) -> GraphQLError:
    return GraphQLError(str(exc), extensions={"code": "VALIDATION_ERROR"})


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=ADMIN_ONLY, description="The audit log, newest first.")
    async def admin_audit_log(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size (max 100).")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue from.")
        ] = None,
        actor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this actor's records.")
        ] = None,
        action: Annotated[str | None, strawberry.argument(description="Only this action.")] = None,
    ) -> Connection[AuditRecord]:
        try:
            limit = page_size(first, info.context.services.settings.max_page_size)
            cursor = decode_cursor(after, 1)
            before_id = int(cursor[0]) if cursor else None
            actor = uuid.UUID(str(actor_id)) if actor_id is not None else None
        except InvalidInput as exc:
            raise _invalid(exc) from None
        except ValueError:
            raise _invalid(ValueError("after or actorId is malformed")) from None
        async with info.context.services.engine.connect() as conn:
            rows = await list_audit_records(
                conn, before_id=before_id, limit=limit + 1, actor_id=actor, action=action
            )
        page = rows[:limit]
        return Connection(
            edges=[Edge(cursor=encode_cursor(r.id), node=AuditRecord.from_view(r)) for r in page],
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_cursor=encode_cursor(page[-1].id) if page else None,
            ),
        )

    @strawberry.field(
        permission_classes=ADMIN_ONLY,
        description="Check the audit log's hash chain, its head and the exported anchors; reports"
        " the first broken link.",
    )
    async def admin_verify_audit_chain(self, info: Info) -> AuditChainVerification:
        services = info.context.services
        sink = anchor_sink(services.settings, await database_name(services.engine))
        report = await verify_chain(services.engine, sink.anchors())
        return AuditChainVerification(
            ok=report.ok,
            checked=report.checked,
            first_broken_id=strawberry.ID(str(report.first_broken_id))
            if report.first_broken_id is not None
            else None,
            reason=report.reason,
            anchors_checked=report.anchors_checked,
        )
