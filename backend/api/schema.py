"""The schema: area root types merged, with error masking and cached parsing/validation."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from backend.api.account_security import PasswordMutation, TwoFactorMutation
from backend.api.account_status import AccountStatusMutation, AccountStatusQuery
from backend.api.accounts import AccountMutation, AccountQuery, SessionMutation
from backend.api.admin import AdminMutation, AdminQuery
from backend.api.audit import AuditQuery
from backend.api.ledger import LedgerSubscription
from backend.api.login_security import LoginSecurityMutation, LoginSecurityQuery
from backend.api.market_data import MarketDataQuery, MarketDataSubscription
from backend.api.markets import MarketQuery
from backend.api.masking import MaskUnexpectedErrors
from backend.api.scalars import SCALAR_MAP
from backend.api.spot import SpotMutation
from backend.api.spot_queries import SpotQuery, SpotSubscription

Query = merge_types(
    "Query",
    (
        AccountQuery,
        MarketQuery,
        MarketDataQuery,
        SpotQuery,
        AdminQuery,
        LoginSecurityQuery,
        AccountStatusQuery,
        AuditQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        SessionMutation,
        SpotMutation,
        AdminMutation,
        TwoFactorMutation,
        PasswordMutation,
        LoginSecurityMutation,
        AccountStatusMutation,
    ),
)
Subscription = merge_types(
    "Subscription", (LedgerSubscription, SpotSubscription, MarketDataSubscription)
)


# The limits' validation rules are built ONCE: the validation cache keys on the rule classes,
# so rules made per request (what the limiter extensions do) would never hit it.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]
NO_INTROSPECTION_RULES = [*LIMIT_RULES, NoSchemaIntrospectionCustomRule]


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    rules = LIMIT_RULES if introspection else NO_INTROSPECTION_RULES
    # Factories: strawberry builds fresh extension instances per request (the parse and
    # validation LRU caches live at module level and are shared).
    extensions: list[Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        # Parsing and validating dominate the cost of a small request: cache both.
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=2_000),
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),  # type: ignore[arg-type]
    )
