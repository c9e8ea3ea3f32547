"""Random order streams through the real commands, matcher and database: after every step the
book is not crossed, every asset is conserved, locked funds equal what open orders hold; and a
replay of the stored events gives the same fills, book changes and engine state as a restart."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.domain.errors import DomainError
from backend.domain.markets import MarketConfig
from backend.matching.replay import replay_market
from backend.matching.state import load_cursor, load_engine, market_info
from backend.settings import Settings
from commands.accounts.register_user import RegisterUser
from commands.admin.adjust_balance import AdjustBalance
from commands.admin.create_asset import CreateAsset
from commands.admin.create_market import CreateMarket
from commands.bus import CommandBus
from commands.spot.cancel_order import AmendOrder, CancelOrder
from commands.spot.order_terms import OrderRequest
from commands.spot.place_order import PlaceOrder
from queries.ledger import reconcile
from tests.integration.spot_harness import InProcessMatcher

USERS = 5

order_strategy = st.one_of(
    st.tuples(
        st.just("limit"),
        st.integers(0, USERS - 1),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(98, 102),
        st.integers(1, 5),
        st.sampled_from(["GTC", "GTC", "GTC", "IOC", "FOK"]),
        st.sampled_from([False, False, False, False, True]),
        st.sampled_from(["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE"]),
    ),
    st.tuples(
        st.just("market"),
        st.integers(0, USERS - 1),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 4),
    ),
    st.tuples(
        st.just("stop"),
        st.integers(0, USERS - 1),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(97, 103),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("amend"), st.integers(0, 50), st.integers(1, 4)),
    st.tuples(st.just("match")),
)


async def _setup(bus: CommandBus, engine: AsyncEngine) -> tuple[str, list[uuid.UUID], str, str]:
    base, quote = "B" + uuid.uuid4().hex[:6].upper(), "Q" + uuid.uuid4().hex[:6].upper()
    await bus.execute(CreateAsset(base, 4))
    await bus.execute(CreateAsset(quote, 4))
    symbol = f"{base}-{quote}"
    await bus.execute(
        CreateMarket(
            MarketConfig(
                symbol,
                base,
                quote,
                tick_size=Decimal("1"),
                step_size=Decimal("1"),
                min_quantity=Decimal("1"),
                max_quantity=Decimal("100"),
                min_notional=Decimal("0"),
                maker_fee=Decimal("0.001"),
                taker_fee=Decimal("0.002"),
                price_band=Decimal("1"),
                market_protection=Decimal("0.5"),
            )
        )
    )
    admin = await bus.execute(RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-12345678"))
    users = []
    for _ in range(USERS):
        user = await bus.execute(
            RegisterUser(f"{uuid.uuid4().hex[:10]}@example.com", "pw-12345678")
        )
        for asset, amount in ((base, "1000"), (quote, "100000")):
            await bus.execute(
                AdjustBalance(admin, str(user), asset, Decimal(amount), "fund", uuid.uuid4().hex)
            )
        users.append(user)
    return symbol, users, base, quote


async def _step(
    bus: CommandBus,
    cfg: Settings,
    symbol: str,
    users: list[uuid.UUID],
    placed: list[tuple[uuid.UUID, int]],
    op: tuple[object, ...],
) -> None:
    kind = op[0]
    try:
        if kind == "limit":
            _, u, side, price, qty, tif, post, stp = op
            request = OrderRequest(
                symbol,
                str(side),
                "LIMIT",
                str(tif),
                bool(post) and tif == "GTC",
                Decimal(str(price)),
                None,
                Decimal(str(qty)),
                None,
                str(stp),
            )
        elif kind == "market":
            _, u, side, qty = op
            request = OrderRequest(symbol, str(side), "MARKET", quantity=Decimal(str(qty)))
        elif kind == "stop":
            _, u, side, price, qty, is_limit = op
            request = OrderRequest(
                symbol,
                str(side),
                "STOP_LIMIT" if is_limit else "STOP_MARKET",
                price=Decimal(str(price)) if is_limit else None,
                stop_price=Decimal(str(price)),
                quantity=Decimal(str(qty)),
            )
        elif kind in ("cancel", "amend") and placed:
            owner, order_id = placed[int(op[1]) % len(placed)]  # type: ignore[call-overload]
            if kind == "cancel":
                await bus.execute(CancelOrder(owner, str(order_id)))
            else:
                await bus.execute(AmendOrder(owner, str(order_id), Decimal(str(op[2]))))
            return
        else:
            return
        user = users[int(u)]  # type: ignore[call-overload]
        order_id = await bus.execute(PlaceOrder(user, request, None, cfg))
        placed.append((user, order_id))
    except DomainError:
        pass  # refused up front (funds, filters, no last price, ended order): changes nothing


async def _check_invariants(
    engine: AsyncEngine,
    matcher: InProcessMatcher,
    assets: tuple[str, str],
    funded: dict[str, Decimal],
) -> None:
    assert matcher.batcher is not None
    bids, asks = matcher.batcher.engine.book_levels(1)
    if bids and asks:
        assert bids[0][0] < asks[0][0], "crossed book"
    async with engine.connect() as conn:
        rows = {r.asset: r for r in await reconcile(conn)}
        for asset in assets:
            assert rows[asset].balanced, rows[asset]
            assert (
                rows[asset].balances_total == funded[asset]
            )  # users + fees: only deposits move it
        locked = (
            await conn.execute(
                text(
                    "SELECT a.user_id, a.asset, a.balance, COALESCE(o.held, 0) AS held"
                    " FROM ledger_accounts a LEFT JOIN (SELECT user_id, hold_asset,"
                    "   SUM(hold_remaining) AS held FROM orders"
                    "   WHERE status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED')"
                    "   GROUP BY user_id, hold_asset) o"
                    " ON o.user_id = a.user_id AND o.hold_asset = a.asset"
                    " WHERE a.kind = 'locked' AND a.asset = ANY(:assets)"
                ),
                {"assets": list(assets)},
            )
        ).all()
        for row in locked:
            assert row.balance == row.held, row


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(order_strategy, min_size=15, max_size=40))
def test_random_order_streams_keep_every_invariant(
    isolated_settings: Settings, ops: list[tuple[object, ...]]
) -> None:
    asyncio.run(_run(isolated_settings, ops))


async def _run(cfg: Settings, ops: list[tuple[object, ...]]) -> None:
    engine = make_engine(cfg, pool_size=3)
    matcher: InProcessMatcher | None = None
    try:
        bus = CommandBus(engine)
        symbol, users, base, quote = await _setup(bus, engine)
        funded = {base: Decimal(1000 * USERS), quote: Decimal(100000 * USERS)}
        matcher = InProcessMatcher(engine, cfg, symbol)
        await matcher.start()
        placed: list[tuple[uuid.UUID, int]] = []
        for op in ops:
            await _step(bus, cfg, symbol, users, placed, op)
            if op[0] == "match" or len(placed) % 3 == 0:
                await matcher.drain()
                await _check_invariants(engine, matcher, (base, quote), funded)
        await matcher.drain()
        await _check_invariants(engine, matcher, (base, quote), funded)
        assert matcher.batcher is not None
        live_digest = matcher.batcher.engine.state_digest()
        async with engine.connect() as conn:
            market = await market_info(conn, symbol)
            report = await replay_market(conn, market, cfg)
            restored, _ = await load_engine(conn, market, await load_cursor(conn, symbol))
        assert report.identical, report.mismatches
        assert report.digest == live_digest == restored.state_digest()
    finally:
        if matcher is not None:
            await matcher.stop()
        await engine.dispose()
