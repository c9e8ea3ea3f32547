"""Masks unexpected errors: the client gets a request id, the log gets the traceback."""

from __future__ import annotations

import logging

import psycopg
from graphql import GraphQLError
from psycopg import errors as pg_errors
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError
from strawberry.extensions import MaskErrors

log = logging.getLogger("backend.api.errors")


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors from graphql-core itself
    # GraphQLErrors are raised on purpose: permission checks, input coercion, our own codes.
    return not isinstance(original, GraphQLError)


def is_outage(error: BaseException | None) -> bool:
    """The database or Redis cannot be reached (as opposed to a bug)."""
    for _ in range(5):  # follow the cause chain a few links (it is short, and could cycle)
        if error is None:
            return False
        if isinstance(error, (DBAPIError, OperationalError)) and getattr(
            error, "connection_invalidated", False
        ):
            return True
        if isinstance(
            error, (psycopg.OperationalError, RedisConnectionError, ConnectionError, TimeoutError)
        ):
            return True
        error = error.__cause__ or getattr(error, "orig", None)
    return False


def has_nul_character(error: BaseException | None) -> bool:
    """PostgreSQL text cannot hold U+0000: psycopg refuses such a parameter before sending it,
    and the server refuses it inside JSONB (UntranslatableCharacter), failing the transaction.
    Either way nothing was written: it is bad input, not a bug."""
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, pg_errors.UntranslatableCharacter):
            return True
        if isinstance(error, (ValueError, psycopg.DataError)) and "NUL" in str(error):
            return True
        error = error.__cause__ or getattr(error, "orig", None)
    return False


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "")
        if has_nul_character(error.original_error):
            return GraphQLError(
                message="Input contains a NUL character, which no text field accepts.",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=None,
                extensions={"code": "VALIDATION_ERROR", "requestId": request_id},
            )
        if is_outage(error.original_error):
            # Not a bug: a dependency is briefly away. Say so, so clients retry with backoff.
            log.warning(
                "dependency unavailable: %s",
                type(error.original_error).__name__,
                extra={"request_id": request_id},
            )
            return GraphQLError(
                message="The service is temporarily unavailable; nothing was changed unless a"
                " retry with the same idempotency key says otherwise. Retry shortly.",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=None,
                extensions={"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
            )
        log.error(
            "unexpected error in %s",
            ".".join(map(str, error.path or [])),
            exc_info=error.original_error,
            extra={"request_id": request_id},
        )
        return GraphQLError(
            message=f"Unexpected error. Quote request id {request_id} to support.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
