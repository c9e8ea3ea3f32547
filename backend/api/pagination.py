"""Keyset-paginated connections (Relay shape) with opaque cursors and a maximum page size."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

import strawberry

from backend.domain.errors import InvalidInput

T = TypeVar("T")


@strawberry.type(description="Where a page ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="An item and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[str] | None:
    if cursor is None:
        return None
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except ValueError:
        raise InvalidInput("after", "after is not a cursor from this list") from None
    if len(parts) != arity:
        raise InvalidInput("after", "after is not a cursor from this list")
    return parts


def page_size(first: int, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise InvalidInput("first", f"first must be between 1 and {maximum}")
    return first
