"""The cross-user authorization matrix, generated from the served schema.

Every query, mutation and subscription root field must be classified in ACCESS below; a field
nobody classified fails `test_every_root_field_is_classified`, so the matrix grows with the
schema. Then, for every field, with documents generated from its arguments and result type:

- ADMIN: a plain user gets FORBIDDEN and an anonymous caller UNAUTHENTICATED (HTTP, and the
  WebSocket for subscriptions), and nothing in the write store changes;
- OWN: an anonymous caller gets UNAUTHENTICATED; user B, passing user A's ids (CROSS_USER_VALUES)
  wherever an argument names one, sees nothing of A's and A's rows are unchanged;
- PUBLIC: an anonymous caller is served (no UNAUTHENTICATED / FORBIDDEN).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import graphql
import psycopg
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)

from backend.api.schema import build_schema
from backend.db.tables import metadata
from backend.settings import Settings
from tests.conftest import register_and_login
from tests.e2e.spot_helpers import SpotMarket, Trader, limit, new_market, new_trader
from tests.fuzz.state_digest import connect, state_digest, wait_until_idle
from tests.graphql_client import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]


class Access(Enum):
    PUBLIC = "public: anyone, signed in or not"
    OWN = "own data: needs a session; reads or changes only the caller's own data"
    ADMIN = "admin only: FORBIDDEN for users, UNAUTHENTICATED for anonymous callers"


PUBLIC, OWN, ADMIN = Access.PUBLIC, Access.OWN, Access.ADMIN

# One line per root field. A new field: add `"<Query|Mutation|Subscription>.<name>": <class>,`.
ACCESS: dict[str, Access] = {
    "Query.me": OWN,
    "Query.assets": PUBLIC,
    "Query.markets": PUBLIC,
    "Query.orderBook": PUBLIC,
    "Query.trades": PUBLIC,
    "Query.candles": PUBLIC,
    "Query.ticker": PUBLIC,
    "Query.myOrders": OWN,
    "Query.myTrades": OWN,
    "Query.reconciliation": ADMIN,
    "Query.adminUsers": ADMIN,
    "Query.adminAuditLog": ADMIN,
    "Query.adminVerifyAuditChain": ADMIN,
    "Query.adminUser": ADMIN,
    "Query.mySessions": OWN,
    "Mutation.register": PUBLIC,
    "Mutation.login": PUBLIC,
    "Mutation.logout": OWN,
    "Mutation.placeOrder": OWN,
    "Mutation.placeOcoOrder": OWN,
    "Mutation.cancelOrder": OWN,
    "Mutation.cancelAllOrders": OWN,
    "Mutation.amendOrder": OWN,
    "Mutation.cancelReplaceOrder": OWN,
    "Mutation.adminCreateAsset": ADMIN,
    "Mutation.adminCreateMarket": ADMIN,
    "Mutation.adminUpdateMarket": ADMIN,
    "Mutation.adminAdjustBalance": ADMIN,
    "Mutation.adminSetAccountStatus": ADMIN,
    "Mutation.requestLoginSmsCode": PUBLIC,
    "Mutation.beginTotpEnrolment": OWN,
    "Mutation.confirmTotpEnrolment": OWN,
    "Mutation.disableTotp": OWN,
    "Mutation.regenerateRecoveryCodes": OWN,
    "Mutation.beginSmsEnrolment": OWN,
    "Mutation.confirmSmsEnrolment": OWN,
    "Mutation.disableSms": OWN,
    "Mutation.requestSmsCode": OWN,
    "Mutation.changePassword": OWN,
    "Mutation.revokeSession": OWN,
    "Mutation.revokeOtherSessions": OWN,
    "Mutation.setAntiPhishingCode": OWN,
    "Mutation.createApiKey": OWN,
    "Mutation.revokeApiKey": OWN,
    "Mutation.adminSetApiKeyMarketMaker": ADMIN,
    "Query.myApiKeys": OWN,
    "Query.adminApiKeys": ADMIN,
    "Subscription.myBalances": OWN,
    "Subscription.myOrders": OWN,
    "Subscription.orderBook": PUBLIC,
    "Subscription.trades": PUBLIC,
    "Subscription.ticker": PUBLIC,
    "Subscription.candles": PUBLIC,
}

# What user B passes for an argument or input field of an OWN field: user A's resource of that
# name. Keys are names ("orderId") or, when a name is ambiguous, "<Type.field>.<path>"
# ("Mutation.revokeSession.id"). An OWN field with a required ID argument not named here fails
# with a message saying which key to add; add a resource to `UserA` if it is a new kind.
CROSS_USER_VALUES: dict[str, str] = {
    "orderId": "order_id",
    "clientOrderId": "client_order_id",
    "userId": "user_id",
    "sessionId": "session_id",
    "market": "market",
    "symbol": "market",
    "Mutation.revokeSession.id": "session_id",
    "Mutation.revokeApiKey.id": "api_key_id",
    "apiKeyId": "api_key_id",
}

HOW_TO_CLASSIFY = (
    "classify it in ACCESS in tests/e2e/test_authorization_matrix.py: one line"
    ' `"<Query|Mutation|Subscription>.<field>": PUBLIC | OWN | ADMIN,` ('
    + "; ".join(f"{a.name} = {a.value}" for a in Access)
    + ")"
)


def root_fields(schema: GraphQLSchema) -> dict[str, GraphQLField]:
    found: dict[str, GraphQLField] = {}
    for kind, root in (
        ("Query", schema.query_type),
        ("Mutation", schema.mutation_type),
        ("Subscription", schema.subscription_type),
    ):
        if root is not None:
            found.update({f"{kind}.{name}": f for name, f in root.fields.items()})
    return found


SDL_SCHEMA = graphql.build_schema((ROOT / "graphql" / "schema.graphql").read_text())
SERVED_SCHEMA: GraphQLSchema = build_schema()._schema
FIELDS = root_fields(SDL_SCHEMA)


def test_every_root_field_is_classified() -> None:
    # given
    in_schemas = set(root_fields(SERVED_SCHEMA)) | set(FIELDS)
    # when
    unclassified = sorted(in_schemas - set(ACCESS))
    stale = sorted(set(ACCESS) - in_schemas)
    # then
    assert not unclassified, f"unclassified root fields {unclassified}: {HOW_TO_CLASSIFY}"
    assert not stale, f"ACCESS names fields the schema no longer has, remove them: {stale}"


# ---- generated documents ----


@dataclass
class UserA:
    """User A and what A owns, for B to reach for."""

    user_id: str
    email: str
    token: str
    market: str
    order_id: str  # a resting order
    client_order_id: str
    order_ids: set[str] = field(default_factory=set)
    session_id: str = ""
    api_key_id: str = ""

    def value(self, key: str) -> str:
        return str(getattr(self, key))

    def markers(self) -> set[str]:
        """Strings that only A's data contains."""
        return {self.user_id, self.email, self.token, self.client_order_id,
                self.api_key_id} - {""}


class NeedsValue(Exception):
    pass


def _nullable(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _required(t: Any, default: Any, ast: Any = None) -> bool:
    """Non-null without a default (graphql-core 3.3 keeps SDL defaults on the AST node)."""
    has_default = default is not graphql.Undefined or (
        ast is not None and getattr(ast, "default_value", None) is not None
    )
    return isinstance(t, GraphQLNonNull) and not has_default


def _dummy(t: Any) -> Any:
    t = _nullable(t)
    if isinstance(t, GraphQLList):
        return [_dummy(t.of_type)]
    if isinstance(t, GraphQLEnumType):
        return _Enum(next(iter(t.values)))
    if isinstance(t, GraphQLInputObjectType):
        return {
            n: _dummy(f.type)
            for n, f in t.fields.items()
            if _required(f.type, f.default_value, f.ast_node)
        }
    return {
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Decimal": "1",
        "DateTime": "2026-01-01T00:00:00+00:00",
        "ID": str(uuid.uuid4()),
    }.get(t.name, "x")


@dataclass(frozen=True)
class _Enum:
    name: str


def _literal(value: Any, t: Any) -> str:
    t = _nullable(t)
    if value is None:
        return "null"
    if isinstance(value, _Enum):
        return value.name
    if isinstance(t, GraphQLList):
        return "[" + ", ".join(_literal(v, t.of_type) for v in value) + "]"
    if isinstance(t, GraphQLInputObjectType):
        return (
            "{" + ", ".join(f"{k}: {_literal(v, t.fields[k].type)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def _fill(path: str, name: str, spec: Any, a: UserA | None, only: str | None) -> Any:
    """The value for one argument / input field, or graphql.Undefined to leave it out.

    With `a`, names in CROSS_USER_VALUES get A's resource; `only`, when set, keeps just that one
    of the optional mapped names (so every id is tried on its own too)."""
    key = next((k for k in (f"{path}.{name}", name) if k in CROSS_USER_VALUES), None)
    t = spec.type
    required = _required(t, spec.default_value, spec.ast_node)
    inner = _nullable(t)
    if a is not None and key is not None and (required or only in (None, key)):
        return a.value(CROSS_USER_VALUES[key])
    if isinstance(inner, GraphQLInputObjectType) and (required or a is not None):
        values = {}
        for n, f in inner.fields.items():
            v = _fill(f"{path}.{name}", n, f, a, only)
            if v is not graphql.Undefined:
                values[n] = v
        return values if values or required else graphql.Undefined
    if not required:
        return graphql.Undefined
    if a is not None and get_named_type(inner).name == "ID":
        raise NeedsValue(
            f'{path}.{name} is an ID: add `"{path}.{name}"` or `"{name}"` to'
            " CROSS_USER_VALUES (and the resource to UserA) so B tries A's"
        )
    return _dummy(t)


def _mapped_names(path: str, args: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for name, arg in args.items():
        if name in CROSS_USER_VALUES or f"{path}.{name}" in CROSS_USER_VALUES:
            names.add(name)
        inner = get_named_type(arg.type)
        if isinstance(inner, GraphQLInputObjectType):
            names |= _mapped_names(f"{path}.{name}", inner.fields)
    return names


def _selection(schema: GraphQLSchema, t: Any, depth: int) -> str:
    named: GraphQLNamedType = get_named_type(t)
    if is_leaf_type(named):
        return ""
    parts = ["__typename"]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and depth > 0:
        for name, f in named.fields.items():
            if any(_required(a.type, a.default_value, a.ast_node) for a in f.args.values()):
                continue
            if is_leaf_type(get_named_type(f.type)):
                parts.append(name)
            elif depth > 1:
                parts.append(f"{name} {_selection(schema, f.type, depth - 1)}")
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        members = schema.get_possible_types(named)
        # Same-named fields of different types may not meet in one selection: alias them.
        types: dict[str, set[str]] = {}
        for m in members:
            for n, f in m.fields.items():
                types.setdefault(n, set()).add(str(f.type))
        for m in members:
            inner = _selection(schema, m, depth)
            for n in m.fields:
                if len(types[n]) > 1:
                    inner = inner.replace(f" {n} ", f" {m.name}_{n}: {n} ", 1)
            parts.append(f"... on {m.name} {inner}")
    return "{ " + " ".join(parts) + " }"


def documents(name: str, a: UserA | None = None) -> Iterator[str]:
    """Documents calling one root field: with A's values, one per mapped id on its own too."""
    kind, field_name = name.split(".")
    f = FIELDS[name]
    variants: list[str | None] = [None]
    if a is not None:  # all of A's ids, none of the optional ones, then each on its own
        variants += ["", *sorted(_mapped_names(name, f.args))]
    for only in variants:
        args = []
        for arg_name, arg in f.args.items():
            value = _fill(name, arg_name, arg, a, only)
            if value is not graphql.Undefined:
                args.append(f"{arg_name}: {_literal(value, arg.type)}")
        call = f"{field_name}({', '.join(args)})" if args else field_name
        for depth in (4, 3, 2, 1):
            document = f"{kind.lower()} {{ {call} {_selection(SDL_SCHEMA, f.type, depth)} }}"
            try:
                graphql.parse(document, max_tokens=1900)
            except graphql.GraphQLError:
                continue
            if not graphql.validate(SDL_SCHEMA, graphql.parse(document)):
                yield document
                break
        else:
            raise AssertionError(f"could not generate a valid document for {name}")


def classified(access: Access) -> list[str]:
    return sorted(n for n, c in ACCESS.items() if c is access and n in FIELDS)


def test_documents_are_generated_for_every_field() -> None:
    # when
    generated = {name: list(documents(name)) for name in ACCESS if name in FIELDS}
    # then
    assert all(generated.values())


# ---- calling the server ----


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


async def _http(client: GraphQLClient, document: str, token: str | None) -> dict[str, Any]:
    return await client.raw(document, {}, token=token)


def _transport(server: str, token: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        close_timeout=1,
    )


async def _ws(
    server: str, document: str, token: str | None, listen: float = 0.5, during: Any = None
) -> tuple[list[dict[str, Any]], list[str | None]]:
    """Messages received within `listen` seconds (after `during()` ran), and error codes."""
    received: list[dict[str, Any]] = []
    codes: list[str | None] = []
    async with Client(transport=_transport(server, token)) as session:

        async def collect() -> None:
            try:
                async for item in session.subscribe(GraphQLRequest(document)):
                    received.append(item)
            except TransportQueryError as failure:
                codes.extend((e.get("extensions") or {}).get("code") for e in failure.errors or [])

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.3)
        if during is not None and not task.done():
            await during()
        await asyncio.wait([task], timeout=listen)
        task.cancel()
    return received, codes


# ---- the matrix ----


@pytest.fixture
def write_store(settings: Settings) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with connect(settings.database_url) as db:
        yield db


async def test_admin_fields_refuse_users_and_anonymous_callers(
    server: str,
    client: GraphQLClient,
    user: tuple[str, str],
    write_store: psycopg.Connection[tuple[object, ...]],
) -> None:
    # given
    _, token = user
    wait_until_idle(write_store)
    before = state_digest(write_store)
    wrong: list[str] = []
    # when
    for name in classified(ADMIN):
        for document in documents(name):
            for caller, expected in ((token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
                if name.startswith("Subscription."):
                    received, codes = await _ws(server, document, caller)
                    data: Any = received
                else:
                    body = await _http(client, document, caller)
                    codes, data = _codes(body), body.get("data")
                # a nullable field comes back null next to its error: that is no data either
                if codes != [expected] or (data and any(v is not None for v in data.values())):
                    who = "user" if caller else "anonymous"
                    wrong.append(f"{name} as {who}: {codes} {data}")
    # then
    assert not wrong, "admin fields reachable:\n" + "\n".join(wrong)
    wait_until_idle(write_store)
    assert state_digest(write_store) == before


async def test_own_data_fields_need_a_session(server: str, client: GraphQLClient) -> None:
    # when
    wrong = []
    for name in classified(OWN):
        for document in documents(name):
            if name.startswith("Subscription."):
                _, codes = await _ws(server, document, None)
            else:
                codes = _codes(await _http(client, document, None))
            if codes != ["UNAUTHENTICATED"]:
                wrong.append(f"{name}: {codes}")
    # then
    assert not wrong, "own-data fields served to anonymous callers:\n" + "\n".join(wrong)


async def test_public_fields_serve_anonymous_callers(client: GraphQLClient) -> None:
    # when
    wrong = []
    for name in classified(PUBLIC):
        if name.startswith("Subscription."):
            continue  # they wait for market events; covered by the market-data tests
        for document in documents(name):
            codes = _codes(await _http(client, document, None))
            if {"UNAUTHENTICATED", "FORBIDDEN"} & set(codes):
                wrong.append(f"{name}: {codes}")
    # then
    assert not wrong, "public fields refused:\n" + "\n".join(wrong)


def _rows_of(db: psycopg.Connection[tuple[object, ...]], user_id: str) -> dict[str, str]:
    """A digest of every row that belongs to A (tables with a user id column, and A's user)."""
    digest = {}
    for table in sorted(metadata.sorted_tables, key=lambda t: t.name):
        if table.name.endswith("_view"):
            continue
        owners = [c.name for c in table.columns if c.name.endswith("user_id")]
        if table.name == "users":
            owners = ["id"]
        if not owners:
            continue
        where = " OR ".join(f'"{c}"::text = %(u)s' for c in owners)
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        rows = db.execute(
            f'SELECT t::text FROM "{table.name}" t WHERE {where} ORDER BY {order}',
            {"u": user_id},
        ).fetchall()
        digest[table.name] = hashlib.md5(repr(rows).encode()).hexdigest()  # noqa: S324
    return digest


async def _user_a(
    client: GraphQLClient, admin_token: str, db: psycopg.Connection[tuple[object, ...]]
) -> tuple[UserA, SpotMarket, Trader]:
    market = await new_market(client, admin_token)
    trader = await new_trader(client, admin_token, market, fresh=True)
    other = await new_trader(client, admin_token, market, fresh=True)
    # A trades once (a fill) and keeps one order resting.
    await limit(client, trader, market, "SELL", "20", "0.100")
    filled = await limit(client, other, market, "BUY", "20", "0.100")
    assert filled["status"] == "FILLED", filled
    resting = await limit(client, trader, market, "BUY", "10", "1")
    assert resting["status"] == "NEW", resting
    me = await client.run("accounts/me", token=trader.token)
    orders = await client.run("spot/my_orders", {"first": 100}, token=trader.token)
    a = UserA(
        user_id=trader.user_id,
        email=me["me"]["email"],
        token=trader.token,
        market=market.symbol,
        order_id=resting["id"],
        client_order_id=resting["clientOrderId"],
        order_ids={e["node"]["id"] for e in orders["myOrders"]["edges"]},
    )
    session = db.execute(
        "SELECT id FROM sessions WHERE user_id = %s ORDER BY created_at DESC LIMIT 1",
        (trader.user_id,),
    ).fetchone()
    a.session_id = str(session[0]) if session else ""
    key = await client.run(
        "api_keys/create_api_key",
        {"input": {"label": "A's bot", "scopes": ["READ", "TRADE"]}},
        token=trader.token,
    )
    assert key["createApiKey"]["__typename"] == "CreatedApiKeyPayload", key
    a.api_key_id = key["createApiKey"]["apiKey"]["id"]
    return a, market, trader


def _leaks(value: Any, a: UserA) -> list[str]:
    found = []
    if isinstance(value, dict):
        if value.get("__typename") == "Order" and value.get("id") in a.order_ids:
            found.append(f"A's order {value['id']}")
        for item in value.values():
            found += _leaks(item, a)
    elif isinstance(value, list):
        for item in value:
            found += _leaks(item, a)
    elif isinstance(value, str) and any(m in value for m in a.markers()):
        found.append(f"A's value in {value!r}")
    return found


async def test_no_user_reaches_another_users_data(
    server: str,
    client: GraphQLClient,
    admin_token: str,
    write_store: psycopg.Connection[tuple[object, ...]],
) -> None:
    # given: A with a fill and a resting order; B signed in, with nothing
    a, market, _ = await _user_a(client, admin_token, write_store)
    b_email, b_password = f"b-{uuid.uuid4().hex[:12]}@example.com", "b-password-12345"
    await register_and_login(client, b_email, b_password)
    wrong: list[str] = []

    async def b_token() -> str:  # a fresh session of B's per call: logout ends the one it uses
        login = await client.run(
            "accounts/login", {"input": {"email": b_email, "password": b_password}}
        )
        token: str = login["login"]["token"]
        return token

    async def a_acts() -> None:  # A's balances and orders change while B listens
        await limit(client, Trader(a.user_id, a.token), market, "BUY", "9", "0.5")

    def own_documents(name: str) -> list[str]:
        try:
            return list(documents(name, a))
        except NeedsValue as missing:
            wrong.append(f"{name}: {missing}")
            return []

    # when: B subscribes while A acts, then B calls every query and mutation with A's ids
    for name in classified(OWN):
        if name.startswith("Subscription."):
            for document in own_documents(name):
                received, codes = await _ws(
                    server, document, await b_token(), listen=1.5, during=a_acts
                )
                if _leaks(received, a) or codes:
                    wrong.append(f"{name} gave B {_leaks(received, a)} {codes}: {document}")
    wait_until_idle(write_store)
    a_before = _rows_of(write_store, a.user_id)
    for name in classified(OWN):
        if not name.startswith("Subscription."):
            for document in own_documents(name):
                body = await _http(client, document, await b_token())
                if _leaks(body, a):
                    wrong.append(f"{name} gave B {_leaks(body, a)}: {document}")
    # then
    assert not wrong, "cross-user access:\n" + "\n".join(wrong)
    wait_until_idle(write_store)
    a_after = _rows_of(write_store, a.user_id)
    assert a_after == a_before, [t for t in a_before if a_before[t] != a_after[t]]
    mine = await client.run("spot/my_orders", {"first": 100}, token=a.token)
    by_id = {e["node"]["id"]: e["node"] for e in mine["myOrders"]["edges"]}
    assert by_id[a.order_id]["status"] == "NEW", by_id[a.order_id]
