"""Masks unexpected errors: the client gets a request id, the log gets the traceback."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("backend.api.errors")


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # syntax and validation errors from graphql-core itself
    # GraphQLErrors are raised on purpose: permission checks, input coercion, our own codes.
    return not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "")
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
