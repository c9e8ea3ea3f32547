"""The schema: area root types merged, with error masking and cached parsing/validation."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from graphql.validation import NoSchemaIntrospectionCustomRule

from backend.api.accounts import AccountMutation, AccountQuery
from backend.api.admin import AdminMutation, AdminQuery
from backend.api.ledger import LedgerSubscription
from backend.api.markets import MarketQuery
from backend.api.masking import MaskUnexpectedErrors
from backend.api.scalars import SCALAR_MAP

Query = merge_types("Query", (AccountQuery, MarketQuery, AdminQuery))
Mutation = merge_types("Mutation", (AccountMutation, AdminMutation))
Subscription = merge_types("Subscription", (LedgerSubscription,))


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    extensions: list[object] = [
        MaskUnexpectedErrors(),
        # Parsing and validating dominate the cost of a small request: cache both.
        ParserCache(maxsize=1024),
        ValidationCache(maxsize=1024),
        QueryDepthLimiter(max_depth=12),
        MaxAliasesLimiter(max_alias_count=30),
        MaxTokensLimiter(max_token_count=2_000),
    ]
    if not introspection:
        extensions.append(AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(scalar_map=SCALAR_MAP),  # type: ignore[arg-type]
    )
