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
from backend.api.api_keys import ApiKeyMutation, ApiKeyQuery
from backend.api.audit import AuditQuery
from backend.api.ledger import LedgerSubscription
from backend.api.login_security import LoginSecurityMutation, LoginSecurityQuery
from backend.api.market_data import MarketDataQuery, MarketDataSubscription
from backend.api.markets import MarketQuery
from backend.api.masking import MaskUnexpectedErrors
from backend.api.query_cost import query_cost_rule
from backend.api.scalars import SCALAR_MAP
from backend.api.scope_gate import ApiKeyScopeGate
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
        ApiKeyQuery,
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
        ApiKeyMutation,
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


DEFAULT_MAX_QUERY_COST = 20_000


def build_schema(
    *, introspection: bool = True, max_query_cost: int = DEFAULT_MAX_QUERY_COST
) -> strawberry.Schema:
    # Built once per schema, so the validation cache (keyed on the rule classes) keeps hitting.
    rules = [
        *(LIMIT_RULES if introspection else NO_INTROSPECTION_RULES),
        query_cost_rule(max_query_cost),
    ]
    # Factories: strawberry builds fresh extension instances per request (the parse and
    # validation LRU caches live at module level and are shared).
    extensions: list[Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        # Parsing and validating dominate the cost of a small request: cache both.
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=2_000),
        # Requests signed with an API key reach only root fields declaring a scope it has.
        ApiKeyScopeGate,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),  # type: ignore[arg-type]
    )
