"""Bad-input fuzzing of the whole GraphQL schema over real HTTP, as three roles.

hypothesis-graphql generates queries and mutations over every root field of the served schema
(valid documents carrying hostile and plausible values, and a share with one schema violation).
Each is sent to the real uvicorn API, with the worker and the matcher running, as an anonymous
caller, as a funded user trading on a market with resting orders, and as the admin. For every
case:

- the HTTP status is below 500 and the body is a GraphQL JSON response;
- no error is the masked `INTERNAL_SERVER_ERROR` (an exception nobody expected), and every error
  raised while executing carries one of the codes the API raises on purpose;
- a query changes no state, and neither does a rejected mutation (refused before execution, or
  every mutation payload an `Error` member): a digest of every write-store table
  (`tests/fuzz/state_digest.py`) is the same before and after, both taken with the matcher idle.

Accepted mutations may change state (a random valid order, a registration, an admin adjustment);
those cases are checked for the first two points only. Subscriptions are not fuzzed:
hypothesis-graphql generates queries and mutations only, and subscriptions need a WebSocket
(tests/e2e/test_subscriptions.py covers them).

`pytest tests/fuzz` runs DEFAULT_EXAMPLES per role with fixed seeds; `pytest -m soak tests/fuzz`
runs SOAK_EXAMPLES per role (10,002 cases in all) with random ones. A failing case names the
role, the document and its request id (`X-Request-Id: fuzz-...`); the API's log
(`server*/api.log` under pytest's temporary directory) has the traceback of a masked error under
that id.

Bugs the fuzzer found are pinned by the regression tests at the end of this module: a NUL
character in any String or ID argument (test_nul_in_string_arguments), order ids of Unicode
digits that int() refuses (test_non_decimal_digit_order_id), and cancelReplaceOrder canceling
the old order when the new one breaks its own rules (test_refused_cancel_replace_keeps_the_order).
"""

from __future__ import annotations

import itertools
import string
import uuid
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import graphql
import httpx
import hypothesis
import psycopg
import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.api.export_schema import schema_sdl
from backend.api.schema import build_schema
from backend.security.login_guard import email_key
from backend.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, fund, register_and_login
from tests.e2e.spot_helpers import SpotMarket, Trader, limit, new_market
from tests.fuzz.state_digest import changed_tables, connect, state_digest, wait_until_idle
from tests.graphql_client import GraphQLClient, operation

ROLES = ("anonymous", "user", "admin")
DEFAULT_EXAMPLES = 200
"""Per role: 600 cases in a default run."""
SOAK_EXAMPLES = 3_334
"""Per role: 10,002 cases under `-m soak`."""

PASSWORD = "correct-horse-9"
"""The fuzz traders' password (also a value the fuzzer may send)."""
INTERNAL = "INTERNAL_SERVER_ERROR"
OUTAGE = "SERVICE_UNAVAILABLE"
"""Masked as a database or Redis outage: while both are up, a fuzz case must not cause one."""

_SCHEMA = build_schema()._schema
SDL = schema_sdl()
CHANGED_ERRORS = frozenset({"ReplacementRefusedError"})
"""Errors reported after something changed (cancelReplaceOrder's cancel stands)."""
ERROR_TYPES = (
    frozenset(
        t.name
        for t in _SCHEMA.get_implementations(_SCHEMA.type_map["Error"]).objects  # type: ignore[arg-type]
    )
    - CHANGED_ERRORS
)
"""Errors that promise nothing changed."""
QUERY_FIELDS = tuple(_SCHEMA.query_type.fields)  # type: ignore[union-attr]
MUTATION_FIELDS = tuple(_SCHEMA.mutation_type.fields)  # type: ignore[union-attr]
def _breakable(argument: graphql.GraphQLArgument) -> bool:
    """NEGATIVE mode needs a required argument or one of a built-in scalar type to violate."""
    named = graphql.get_named_type(argument.type)
    return isinstance(argument.type, graphql.GraphQLNonNull) or graphql.is_specified_scalar_type(
        named  # type: ignore[arg-type]
    )


WITH_ARGUMENTS = tuple(
    name
    for root in (_SCHEMA.query_type, _SCHEMA.mutation_type)
    for name, f in root.fields.items()  # type: ignore[union-attr]
    if any(_breakable(a) for a in f.args.values())
)
"""Root fields with arguments NEGATIVE mode can break on their own (not, say, one optional
input object: `disableTotp(secondFactor:)`)."""

# ---------------------------------------------------------------------------------------------
# The world the cases run in: a market with resting orders from two traders, kept that way.


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    token: str


@dataclass
class World:
    market: SpotMarket
    admin: Account
    user: Account
    """The fuzzed funded user: balances in both assets and resting orders on both sides."""
    maker: Account
    """Another trader with resting orders on both sides (orders the user may not touch)."""
    config: dict[str, object]
    """The market row as created; restored when an admin case changes it."""
    settings: Settings | None = None
    """Where the login lockout counters live (restored so a fuzzed lockout does not stick)."""


@pytest.fixture(scope="module")
async def world(server: str, engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    # `engine`: new_market waits for the matcher through the session's engine.
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        client = GraphQLClient(http)
        login = await client.run(
            "accounts/login", {"input": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}}
        )
        session = login["login"]
        admin = Account(ADMIN_EMAIL, ADMIN_PASSWORD, session["user"]["id"], session["token"])
        market = await new_market(client, admin.token)
        accounts = []
        for name in ("user", "maker"):
            email = f"fuzz-{name}-{uuid.uuid4().hex[:8]}@example.com"
            user_id, token = await register_and_login(client, email, PASSWORD)
            accounts.append(Account(email, PASSWORD, user_id, token))
            for asset, amount in ((market.base, "1000"), (market.quote, "1000000")):
                funded = await fund(client, admin.token, user_id, asset, amount)
                assert funded["__typename"] == "BalanceAdjustment", funded
        user, maker = accounts
        # A last price of 100 (limit prices must lie within the band around it), then resting
        # orders. Statuses are checked in the database once the matcher is idle: on a busy
        # machine an answer may come back PENDING_NEW.
        for trader, side in ((maker, "SELL"), (user, "BUY")):
            await limit(client, Trader(trader.user_id, trader.token), market, side, "100", "0.1")
        with connect(settings.database_url) as db:
            wait_until_idle(db)
            for trader, side, price in _resting(user, maker, Decimal(100)):
                await limit(client, trader, market, side, str(price), "1.000")
            wait_until_idle(db)
            last = db.execute(
                "SELECT last_price FROM market_state WHERE market = %s", (market.symbol,)
            ).fetchone()
            assert last == (Decimal(100),), last
            statuses = db.execute(
                "SELECT status, count(*) FROM orders WHERE market = %s GROUP BY 1",
                (market.symbol,),
            ).fetchall()
            assert sorted(statuses) == [("FILLED", 2), ("NEW", 4)], statuses
            config = _market_row(db, market.symbol)
    yield World(market, admin, user, maker, config, settings)


def _resting(user: Account, maker: Account, last: Decimal) -> list[tuple[Trader, str, Decimal]]:
    """Non-crossing resting orders around the last price: maker 0.9 / 1.1, user 0.95 / 1.05."""
    quant = Decimal("0.01")
    return [
        (Trader(maker.user_id, maker.token), "BUY", (last * Decimal("0.90")).quantize(quant)),
        (Trader(maker.user_id, maker.token), "SELL", (last * Decimal("1.10")).quantize(quant)),
        (Trader(user.user_id, user.token), "BUY", (last * Decimal("0.95")).quantize(quant)),
        (Trader(user.user_id, user.token), "SELL", (last * Decimal("1.05")).quantize(quant)),
    ]


_MARKET_COLUMNS = (
    "tick_size",
    "step_size",
    "min_quantity",
    "max_quantity",
    "min_notional",
    "maker_fee",
    "taker_fee",
    "price_band",
    "market_protection",
    "status",
)


def _market_row(db: psycopg.Connection[Any], symbol: str) -> dict[str, object]:
    row = db.execute(
        f"SELECT {', '.join(_MARKET_COLUMNS)} FROM markets WHERE symbol = %s", (symbol,)
    ).fetchone()
    assert row is not None
    return dict(zip(_MARKET_COLUMNS, row, strict=True))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Keeper:
    """Keeps the world usable between cases (never inside a case's digest window): restores the
    market's settings, re-logs in after a fuzzed `logout`, tops up balances and resting orders."""

    def __init__(self, world: World, http: httpx.Client, db: psycopg.Connection[Any]) -> None:
        self.world, self.http, self.db = world, http, db
        self.strings: list[str] = []
        self.ids: list[str] = []
        self.open_ids: list[str] = []
        self.refresh_pools()

    def run(self, name: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = self.http.post(
            "/graphql", json={"query": operation(name), "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def token(self, role: str) -> str | None:
        return None if role == "anonymous" else getattr(self.world, role).token

    def relogin(self, role: str) -> None:
        account: Account = getattr(self.world, role)
        data = self.run(
            "accounts/login",
            {"input": {"email": account.email, "password": account.password}},
            None,
        )
        assert data["login"]["__typename"] == "Session", data
        account.token = data["login"]["token"]

    def restore(self) -> None:
        wait_until_idle(self.db)
        changed = False
        if _market_row(self.db, self.world.market.symbol) != self.world.config:
            self._restore_market()
            changed = True
        changed |= self._reinstate_accounts()
        changed |= self._top_up()
        changed |= self._replenish()
        if changed:
            wait_until_idle(self.db)
        self.refresh_pools()

    def _reinstate_accounts(self) -> bool:
        """Undo what fuzzed logins and adminSetAccountStatus do to the world's accounts: login
        lockouts (wrong passwords for the world's emails) and a frozen or locked status."""
        w = self.world
        if w.settings is not None:
            prefix = f"{w.settings.queue_namespace}:login:"
            with redis.Redis.from_url(w.settings.redis_url) as r:
                keys = [
                    *(k for a in (w.admin, w.user, w.maker)
                      for k in r.scan_iter(f"{prefix}account:{email_key(a.email)}:*")),
                    *r.scan_iter(f"{prefix}ip:*"),
                ]
                if keys:
                    r.delete(*keys)
        changed = False
        for role in ("user", "maker"):
            account: Account = getattr(w, role)
            row = self.db.execute(
                "SELECT status FROM users WHERE id = %s", (account.user_id,)
            ).fetchone()
            if row is not None and row[0] != "active":
                data = self.run(
                    "admin/set_account_status",
                    {"input": {"userId": account.user_id, "status": "ACTIVE",
                               "reason": "fuzz restore"}},
                    w.admin.token,
                )
                assert data["adminSetAccountStatus"]["__typename"] == "AccountStatusChange", data
                self.relogin(role)  # a lock revoked its sessions
                changed = True
        return changed

    def _update_market(self, **values: object) -> None:
        data = self.run(
            "admin/update_market",
            {"input": {"symbol": self.world.market.symbol, "reason": "fuzz restore", **values}},
            self.world.admin.token,
        )
        assert data["adminUpdateMarket"]["__typename"] == "Market", data

    def _restore_market(self) -> None:
        config = self.world.config
        now = _market_row(self.db, self.world.market.symbol)
        values = {
            _camel(k): format(v, "f")
            for k, v in config.items()
            if isinstance(v, Decimal) and now[k] != v
        }
        increments = {"tickSize", "stepSize"} & values.keys()
        if increments and now["status"] != "DISABLED":
            self._update_market(status="DISABLED")  # tick and step change only while disabled
        if values:
            self._update_market(**values)
        if _market_row(self.db, self.world.market.symbol)["status"] != config["status"]:
            self._update_market(status=config["status"])
        wait_until_idle(self.db)
        assert _market_row(self.db, self.world.market.symbol) == config

    def _top_up(self) -> bool:
        market = self.world.market
        rows = self.db.execute(
            "SELECT user_id::text, asset, balance FROM ledger_accounts"
            " WHERE kind = 'available' AND asset IN (%s, %s) AND user_id::text IN (%s, %s)",
            (market.base, market.quote, self.world.user.user_id, self.world.maker.user_id),
        ).fetchall()
        have = {(u, a): b for u, a, b in rows}
        topped = False
        for account in (self.world.user, self.world.maker):
            for asset, low, amount in (
                (market.base, 100, "1000"),
                (market.quote, 100_000, "1000000"),
            ):
                if have.get((account.user_id, asset), 0) < low:
                    data = self.run(
                        "admin/adjust_balance",
                        {
                            "input": {
                                "userId": account.user_id,
                                "asset": asset,
                                "amount": amount,
                                "reason": "fuzz top-up",
                                "idempotencyKey": uuid.uuid4().hex,
                            }
                        },
                        self.world.admin.token,
                    )
                    assert data["adminAdjustBalance"]["__typename"] == "BalanceAdjustment", data
                    topped = True
        return topped

    def _replenish(self) -> bool:
        market, user_id = self.world.market, self.world.user.user_id
        open_orders = self.db.execute(
            "SELECT user_id::text, side, type = 'LIMIT', count(*) FROM orders"
            " WHERE market = %s AND status IN ('NEW', 'PARTIALLY_FILLED') GROUP BY 1, 2, 3",
            (market.symbol,),
        ).fetchall()
        counts = {(u, side): n for u, side, is_limit, n in open_orders if is_limit}
        stops = sum(n for u, _, is_limit, n in open_orders if u == user_id and not is_limit)
        if sum(n for u, _, _, n in open_orders if u == user_id) >= 12 or stops >= 3:
            # Near the open order limits (EXCHANGE_MAX_OPEN_ORDERS 20, ..._STOP_ORDERS 3): make
            # room, so the fuzzer's valid orders keep reaching the matcher.
            data = self.run(
                "spot/cancel_all_orders", {"market": market.symbol}, self.world.user.token
            )
            assert data["cancelAllOrders"]["__typename"] == "CancelAllResult", data
            wait_until_idle(self.db)
            counts = {k: v for k, v in counts.items() if k[0] != user_id}
        last = self.db.execute(
            "SELECT last_price FROM market_state WHERE market = %s", (market.symbol,)
        ).fetchone()
        price = last[0] if last and last[0] else Decimal(100)
        placed = False
        for trader, side, at in _resting(self.world.user, self.world.maker, price):
            if counts.get((trader.user_id, side), 0) == 0:
                data = self.run(
                    "spot/place_order",
                    {
                        "input": {
                            "market": market.symbol,
                            "side": side,
                            "type": "LIMIT",
                            "price": str(at),
                            "quantity": "1.000",
                            "clientOrderId": uuid.uuid4().hex[:20],
                        }
                    },
                    trader.token,
                )
                assert data["placeOrder"]["__typename"] == "Order", data
                placed = True
        return placed

    def refresh_pools(self) -> None:
        """Known names and ids the generated values draw from, so that cases reach real
        markets, assets, accounts and orders and not only "not found"."""
        w = self.world
        orders = self.db.execute(
            "SELECT id::text, client_order_id, user_id::text = %s"
            " AND status IN ('NEW', 'PARTIALLY_FILLED') AS working FROM orders"
            " WHERE user_id::text IN (%s, %s) ORDER BY working DESC, id DESC LIMIT 30",
            (w.user.user_id, w.user.user_id, w.maker.user_id),
        ).fetchall()
        assets = [r[0] for r in self.db.execute("SELECT code FROM assets LIMIT 20").fetchall()]
        # The user's working orders (cancel, amend and replace act on those) get a pool of
        # their own; the other ids are of the user's ended orders, the maker's and accounts.
        self.open_ids[:] = [order_id for order_id, _, working in orders if working] or ["1"]
        self.ids[:] = [
            w.user.user_id,
            w.maker.user_id,
            w.admin.user_id,
            *(order_id for order_id, _, _ in orders),
        ]
        self.strings[:] = [
            w.market.symbol,
            w.market.base,
            w.market.quote,
            f"{w.market.quote}-{w.market.base}",
            *assets,
            w.user.email,
            w.maker.email,
            w.admin.email,
            w.user.email.upper(),
            PASSWORD,
            *(client_order_id for _, client_order_id, _ in orders),
        ]


# ---------------------------------------------------------------------------------------------
# Strategies for values: hostile and plausible, drawing on the world's real names and ids.

ALPHABET = st.characters(codec="utf-8", max_codepoint=0xFFFF, exclude_categories=["Cs"])
"""hypothesis-graphql's own alphabet (NUL included)."""

TRICKY_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "null",
    "undefined",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    '"',
    "\u202e",
    "\ufeff",
    "😀",
    "\U0001d7d9\U0001d7da",  # mathematical double-struck 1 2
    "\u0661\u0662\u0663",  # Arabic-Indic 1 2 3
    "\uff21\uff22\uff23",  # fullwidth A B C
    "-",
    "BTC-USDT",
    "ETH-BTC",
    "A" * 17,
    "A" * 200,
    "x" * 5_000,
    "a@b",
    "a@b.c",
    "@example.com",
    "user@example.com ",
    "UPPER@EXAMPLE.COM",
    "ENABLED",
    "DISABLED",
)

TRICKY_DECIMALS = (
    "0",
    "-0",
    "0.0",
    "00.10",
    "+1",
    "1.",
    ".5",
    " 1",
    "1 ",
    "1\n",
    "1_000",
    "1,5",
    "0x10",
    "1e3",
    "1E-3",
    "1e-7",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "\u0661",  # Arabic-Indic 1
    "\u0663.\u0665",  # Arabic-Indic 3.5
    "\uff11",  # fullwidth 1
    "\u00b2",  # superscript 2
    "9" * 15,
    "9" * 40,
    "9" * 41,
    "0." + "0" * 39 + "1",
    "0." + "0" * 17 + "1",
    "1" + "0" * 20,
    "99999999999999999999.999999999999999999",
    "-99999999999999999999.999999999999999999",
    "999999999999999.999999999999999999",
    "0.001",
    "0.01",
    "1",
    "100",
    "-1",
)

TRICKY_IDS = (
    "",
    "0",
    "-1",
    "00001",
    " 1",
    "1 ",
    "1.5",
    "1e3",
    "\u0661\u0662",  # Arabic-Indic 12 (int() reads it)
    "\uff11\uff12",  # fullwidth 12
    "9" * 18,
    "9" * 19,
    "9" * 30,
    "-" + "9" * 30,
    "9223372036854775807",
    "9223372036854775808",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "1\x00",
)


def known(pool: Sequence[str]) -> st.SearchStrategy[str]:
    """An entry of a pool that the Keeper refreshes between cases."""
    return st.integers(min_value=0, max_value=1 << 16).map(lambda i: pool[i % len(pool)])


def string_values(pool: Sequence[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return st.one_of(
        known(pool),
        known(pool),
        st.text(ALPHABET, max_size=40),
        st.sampled_from(TRICKY_STRINGS),
        st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True),
        st.emails(),
    ).map(nodes.String)


PLAUSIBLE_DECIMALS = st.one_of(
    # prices on the fuzz market's tick (0.01) around its last price (100)
    st.integers(min_value=5_000, max_value=15_000).map(lambda n: str(Decimal(n) / 100)),
    # quantities on its step (0.001)
    st.integers(min_value=1, max_value=5_000).map(lambda n: str(Decimal(n) / 1000)),
    # fees, bands, small amounts
    st.integers(min_value=0, max_value=5_000).map(lambda n: str(Decimal(n) / 10_000)),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
)
HOSTILE_DECIMALS = st.one_of(
    st.sampled_from(TRICKY_DECIMALS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-(10**6), max_value=10**6, places=6).map(str),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(ALPHABET, max_size=20),
)


def decimal_values() -> st.SearchStrategy[graphql.ValueNode]:
    """JSON strings of every kind (the scalar's only valid form), and other literals."""
    return st.one_of(
        PLAUSIBLE_DECIMALS.map(nodes.String),
        PLAUSIBLE_DECIMALS.map(nodes.String),
        HOSTILE_DECIMALS.map(nodes.String),
        HOSTILE_DECIMALS.map(nodes.String),
        st.one_of(
            st.integers().map(nodes.Int),
            st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
            st.booleans().map(nodes.Boolean),
            st.sampled_from(["NaN", "Infinity", "ENABLED"]).map(nodes.Enum),
            st.lists(HOSTILE_DECIMALS.map(nodes.String), max_size=2).map(nodes.List),
        ),
    )


def id_values(
    pool: Sequence[str], open_orders: Sequence[str]
) -> st.SearchStrategy[graphql.ValueNode]:
    texts = st.one_of(
        known(open_orders),
        known(pool),
        known(pool),
        st.sampled_from(TRICKY_IDS),
        st.integers().map(str),
        st.uuids().map(str),
        st.text(ALPHABET, max_size=20),
    )
    return st.one_of(
        texts.map(nodes.String),
        texts.map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    )


def datetime_values() -> st.SearchStrategy[graphql.ValueNode]:
    # No input takes a DateTime today; values are here for when one does.
    return st.one_of(
        st.datetimes().map(lambda d: d.isoformat()),
        st.sampled_from(["", "2024-13-01T00:00:00", "yesterday", "9999-12-31T23:59:59+14:00"]),
        st.text(ALPHABET, max_size=30),
    ).map(nodes.String)


_TYPENAME = graphql.FieldNode(name=graphql.NameNode(value="__typename"))


class _AddTypename(graphql.Visitor):
    def leave_selection_set(
        self, node: graphql.SelectionSetNode, key: object, parent: object, *_: object
    ) -> graphql.SelectionSetNode | None:
        if isinstance(parent, graphql.FieldNode):
            return graphql.SelectionSetNode(selections=(_TYPENAME, *node.selections))
        return None


def print_with_typename(document: graphql.DocumentNode) -> str:
    """Every object selection also asks for `__typename`, so a union payload says whether it
    is an `Error` member."""
    return graphql.print_ast(graphql.visit(document, _AddTypename()))


def documents(keeper: Keeper) -> st.SearchStrategy[str]:
    """Documents over the whole schema. Most name one root field, so that a mutation's outcome
    is known exactly (in a document of several, an error in one hides what the others did) and
    selections stay small (generating takes time in proportion); some are drawn over every root
    field at once, and a fifth carry one schema violation (to be refused before execution)."""
    scalars = {
        "String": string_values(keeper.strings),
        "ID": id_values(keeper.ids, keeper.open_ids),
        "Decimal": decimal_values(),
        "DateTime": datetime_values(),
    }

    def generate(fields: list[str] | None, mode: Mode) -> st.SearchStrategy[str]:
        return from_schema(
            SDL, fields=fields, custom_scalars=scalars, print_ast=print_with_typename, mode=mode
        )

    valid = {name: generate([name], Mode.POSITIVE) for name in QUERY_FIELDS + MUTATION_FIELDS}
    invalid = {name: generate([name], Mode.NEGATIVE) for name in WITH_ARGUMENTS}
    one_mutation = st.sampled_from(MUTATION_FIELDS).flatmap(valid.__getitem__)
    one_query = st.sampled_from(QUERY_FIELDS).flatmap(valid.__getitem__)
    one_invalid = st.sampled_from(WITH_ARGUMENTS).flatmap(invalid.__getitem__)
    whole = generate(None, Mode.POSITIVE)
    whole_invalid = generate(None, Mode.NEGATIVE)
    kinds = [one_mutation] * 5 + [one_query] * 2 + [whole, one_invalid, whole_invalid]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


# ---------------------------------------------------------------------------------------------
# One case.


def operation_of(document: str) -> graphql.OperationDefinitionNode:
    node = graphql.parse(document).definitions[0]
    assert isinstance(node, graphql.OperationDefinitionNode)
    return node


def root_fields(document: str) -> list[str]:
    return [
        s.alias.value if s.alias else s.name.value
        for s in operation_of(document).selection_set.selections
        if isinstance(s, graphql.FieldNode)
    ]


def classify(document: str, body: dict[str, Any]) -> str:
    """`query`; or for a mutation `rejected` (nothing may have changed), `accepted`, or
    `unknown` (an earlier field of the same document may have run before one failed)."""
    if operation_of(document).operation == graphql.OperationType.QUERY:
        return "query"
    roots = root_fields(document)
    errors = body.get("errors") or []
    data = body.get("data")
    located = [e for e in errors if e.get("path")]
    if data is None:
        if not located:
            return "rejected"  # refused before execution: parsing, validation, limits
        # Root fields are non-null: an error in one nulls `data` and ends the (serial)
        # execution. Only when the very first field failed at its root did nothing run.
        return "rejected" if [e["path"] for e in located] == [[roots[0]]] else "unknown"
    payloads = [data.get(name) for name in roots]
    if all(isinstance(p, dict) and p.get("__typename") in ERROR_TYPES for p in payloads):
        return "rejected"
    return "unknown" if errors else "accepted"


@dataclass
class Fuzzer:
    role: str
    keeper: Keeper
    db: psycopg.Connection[Any]
    http: httpx.Client
    stats: Counter[str] = field(default_factory=Counter)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def case(self, document: str) -> None:
        self.keeper.restore()
        request_id = f"fuzz-{self.role}-{next(self.numbers)}-{uuid.uuid4().hex[:8]}"
        headers = {"x-request-id": request_id}
        token = self.keeper.token(self.role)
        if token:
            headers["authorization"] = f"Bearer {token}"
        before = state_digest(self.db)
        response = self.http.post("/graphql", json={"query": document}, headers=headers)
        wait_until_idle(self.db)
        after = state_digest(self.db)
        if token and "logout" in document:
            self.keeper.relogin(self.role)  # a fuzzed logout may have revoked it

        where = f"role {self.role}, request id {request_id}:\n{document}\n"
        assert response.status_code < 500, f"{where}HTTP {response.status_code}: {response.text}"
        body = response.json()
        assert isinstance(body, dict) and ("data" in body or "errors" in body), where + str(body)
        problems = []
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code == INTERNAL:
                problems.append(f"masked unexpected error: {error}")
            elif code == OUTAGE:
                problems.append(f"outage while the database and Redis are up: {error}")
            elif error.get("path") and not code:
                # Raised on purpose, a top-level error carries a code (UNAUTHENTICATED,
                # VALIDATION_ERROR, NOT_FOUND, ...); one without is graphql-core's own, such as
                # a non-null field resolving to null, and passes the masking unmasked.
                problems.append(f"execution error without a code (unmasked): {error}")
        verdict = classify(document, body)
        self.stats[verdict] += 1
        if verdict in ("query", "rejected") and before != after:
            changed = changed_tables(before, after)
            problems.append(f"{verdict} request changed state: tables {changed}; response {body}")
        assert not problems, where + "\n".join(problems)


def fuzz(
    world: World, server: str, settings_: Settings, role: str, examples: int, *, seeded: bool
) -> None:
    with connect(settings_.database_url) as db, httpx.Client(base_url=server, timeout=30) as http:
        fuzzer = Fuzzer(role, Keeper(world, http, db), db, http)

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(document=documents(fuzzer.keeper))
        def run(document: str) -> None:
            fuzzer.case(document)

        if seeded:  # the same documents every run (names and ids come from the world)
            run = hypothesis.seed(zlib.crc32(role.encode()))(run)
        run()
        print(f"\nfuzz as {role}: {dict(fuzzer.stats)}")  # shown with -s
        # Not vacuous: most cases had their state checked.
        checked = fuzzer.stats["query"] + fuzzer.stats["rejected"]
        assert checked >= sum(fuzzer.stats.values()) // 2, fuzzer.stats


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_graphql(world: World, server: str, settings: Settings, role: str) -> None:
    fuzz(world, server, settings, role, DEFAULT_EXAMPLES, seeded=True)


@pytest.mark.soak
@pytest.mark.parametrize("role", ROLES)
def test_fuzz_graphql_soak(world: World, server: str, settings: Settings, role: str) -> None:
    fuzz(world, server, settings, role, SOAK_EXAMPLES, seeded=False)


# ---------------------------------------------------------------------------------------------
# Bugs the fuzzer found, reproduced exactly, now regression tests.


def check_one(world: World, server: str, settings_: Settings, role: str, document: str) -> None:
    """One case with the fuzzer's checks."""
    with connect(settings_.database_url) as db, httpx.Client(base_url=server, timeout=30) as http:
        Fuzzer(role, Keeper(world, http, db), db, http).case(document)


ORDER = 'side: BUY, type: LIMIT, price: "95", quantity: "1"'
OCO = 'side: BUY, quantity: "1", price: "95", stopPrice: "120"'
SPEC = 'tickSize: "0.01", stepSize: "0.001", minQuantity: "0.001", maxQuantity: "10"'
ADJUST = 'amount: "1", idempotencyKey: "$unique"'
NUL_CASES = {
    # name: (role, root field and arguments), one case per String or ID argument; $nul is a NUL
    "markets.symbol": ("anonymous", 'markets(symbol: "A$nul")'),
    "myOrders.market": ("user", 'myOrders(market: "A$nul")'),
    "myOrders.after": ("user", 'myOrders(after: "A$nul")'),
    "myTrades.market": ("user", 'myTrades(market: "A$nul")'),
    "myTrades.after": ("user", 'myTrades(after: "A$nul")'),
    "me.ledgerEntries.after": ("user", 'me { ledgerEntries(after: "A$nul") { __typename } }'),
    "adminUsers.after": ("admin", 'adminUsers(after: "A$nul")'),
    "register.email": (
        "anonymous",
        'register(input: {email: "a$nul@example.com", password: "long-enough-1"})',
    ),
    "register.password": (
        "anonymous",
        'register(input: {email: "$unique@example.com", password: "long-enough$nul"})',
    ),
    "login.email": (
        "anonymous",
        'login(input: {email: "a$nul@example.com", password: "long-enough-1"})',
    ),
    "login.password": ("anonymous", 'login(input: {email: "$email", password: "x$nul"})'),
    "placeOrder.market": ("user", f'placeOrder(input: {{{ORDER}, market: "A$nul"}})'),
    "placeOrder.clientOrderId": (
        "user",
        f'placeOrder(input: {{{ORDER}, market: "$symbol", clientOrderId: "a$nul"}})',
    ),
    "placeOcoOrder.market": ("user", f'placeOcoOrder(input: {{{OCO}, market: "A$nul"}})'),
    "placeOcoOrder.clientOrderId": (
        "user",
        f'placeOcoOrder(input: {{{OCO}, market: "$symbol", clientOrderId: "a$nul"}})',
    ),
    "cancelOrder.orderId": ("user", 'cancelOrder(input: {orderId: "1$nul"})'),
    "cancelOrder.clientOrderId": ("user", 'cancelOrder(input: {clientOrderId: "a$nul"})'),
    "cancelAllOrders.market": ("user", 'cancelAllOrders(market: "A$nul")'),
    "amendOrder.orderId": ("user", 'amendOrder(input: {orderId: "1$nul", quantity: "1"})'),
    "cancelReplaceOrder.cancel.clientOrderId": (
        "user",
        f'cancelReplaceOrder(input: {{cancel: {{clientOrderId: "a$nul"}},'
        f' order: {{{ORDER}, market: "$symbol"}}}})',
    ),
    "adminCreateAsset.code": ("admin", 'adminCreateAsset(input: {code: "AB$nul", precision: 2})'),
    "adminCreateMarket.symbol": (
        "admin",
        f'adminCreateMarket(input: {{{SPEC}, symbol: "A$nul", base: "$base", quote: "$quote"}})',
    ),
    "adminCreateMarket.base": (
        "admin",
        f'adminCreateMarket(input: {{{SPEC}, symbol: "$symbol", base: "A$nul", quote: "$quote"}})',
    ),
    "adminCreateMarket.quote": (
        "admin",
        f'adminCreateMarket(input: {{{SPEC}, symbol: "$symbol", base: "$base", quote: "A$nul"}})',
    ),
    "adminUpdateMarket.symbol": (
        "admin",
        'adminUpdateMarket(input: {symbol: "A$nul", makerFee: "0.002"})',
    ),
    "adminUpdateMarket.reason": (
        "admin",
        'adminUpdateMarket(input: {symbol: "$symbol", makerFee: "0.002", reason: "r$nul"})',
    ),
    "adminAdjustBalance.userId": (
        "admin",
        f'adminAdjustBalance(input: {{{ADJUST}, userId: "a$nul", asset: "$base", reason: "fuzz"}})',
    ),
    "adminAdjustBalance.asset": (
        "admin",
        f'adminAdjustBalance(input: {{{ADJUST}, userId: "$user_id", asset: "A$nul",'
        ' reason: "fuzz"})',
    ),
    "adminAdjustBalance.reason": (
        "admin",
        f'adminAdjustBalance(input: {{{ADJUST}, userId: "$user_id", asset: "$base",'
        ' reason: "fuzz$nul"})',
    ),
    "adminAdjustBalance.idempotencyKey": (
        "admin",
        'adminAdjustBalance(input: {amount: "1", idempotencyKey: "k$nul", userId: "$user_id",'
        ' asset: "$base", reason: "fuzz"})',
    ),
}


@pytest.mark.parametrize("name", list(NUL_CASES))
def test_nul_in_string_arguments(world: World, server: str, settings: Settings, name: str) -> None:
    role, call = NUL_CASES[name]
    selection = "" if call.endswith("}") else " { __typename }"
    kind = "query" if call.split("(")[0].split(" ")[0] in QUERY_FIELDS else "mutation"
    document = string.Template(f"{kind} {{ {call}{selection} }}").substitute(
        nul="\\u0000",
        unique=uuid.uuid4().hex,
        symbol=world.market.symbol,
        base=world.market.base,
        quote=world.market.quote,
        user_id=world.user.user_id,
        email=world.user.email,
    )
    """A NUL answers VALIDATION_ERROR and changes nothing, wherever PostgreSQL would refuse it
    (a text column, or JSONB inside an event, as adminUpdateMarket's reason)."""
    check_one(world, server, settings, role, document)


@pytest.mark.parametrize(
    "document",
    [
        'mutation { cancelOrder(input: {orderId: "²"}) { __typename } }',
        'mutation { amendOrder(input: {orderId: "²", quantity: "1"}) { __typename } }',
        'mutation { amendOrder(input: {orderId: "①", quantity: "1"}) { __typename } }',
        'mutation { cancelReplaceOrder(input: {cancel: {orderId: "1²"}, order: {market: "X",'
        " side: BUY, type: LIMIT}}) { __typename } }",
    ],
    ids=["cancelOrder", "amendOrder", "amendOrder-circled", "cancelReplaceOrder"],
)
def test_non_decimal_digit_order_id(
    world: World, server: str, settings: Settings, document: str
) -> None:
    """Digits that str.isdigit() takes but int() refuses ("²") are a ValidationError."""
    check_one(world, server, settings, "user", document)


def test_refused_cancel_replace_keeps_the_order(
    world: World, server: str, settings: Settings
) -> None:
    """A new order breaking its own rules is refused before the cancel: the old one stays."""
    with connect(settings.database_url) as db, httpx.Client(base_url=server, timeout=30) as http:
        keeper = Keeper(world, http, db)
        keeper.restore()
        row = db.execute(
            "SELECT id FROM orders WHERE user_id::text = %s AND market = %s AND status = 'NEW'"
            " ORDER BY id LIMIT 1",
            (world.user.user_id, world.market.symbol),
        ).fetchone()
        assert row is not None
        document = (
            f'mutation {{ cancelReplaceOrder(input: {{cancel: {{orderId: "{row[0]}"}},'
            f' order: {{market: "{world.market.symbol}", side: BUY, type: LIMIT,'
            ' price: "not-a-price", quantity: "1"}}) { __typename ... on Error { code } } }'
        )
        Fuzzer("user", keeper, db, http).case(document)
