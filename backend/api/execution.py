"""Runs a command for a resolver and turns expected failures into typed union members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend.api.context import Info
from backend.api.errors import error_from
from backend.domain.errors import DomainError
from backend.request_context import RequestContext, current_request

R = TypeVar("R")


async def execute(
    info: Info, build: Callable[[], Any], present: Callable[[Any], Awaitable[R]]
) -> Any:
    """`build` turns input into a command (it may raise InvalidInput); `present` turns the
    command's result into the payload. Nothing else is caught: the unexpected is masked.

    Returns the payload or an error type; strawberry checks it belongs to the field's union.
    """
    ctx = info.context
    token = current_request.set(
        RequestContext(
            request_id=ctx.request_id,
            actor_id=str(ctx.user.user.id) if ctx.user else None,
            ip=ctx.client_ip,
        )
    )
    try:
        result = await ctx.services.bus.execute(build())
    except DomainError as exc:
        return error_from(exc)
    finally:
        current_request.reset(token)
    return await present(result)
