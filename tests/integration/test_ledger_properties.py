"""Random sequences of transfers and adjustments against real PostgreSQL keep the ledger sound.

A hypothesis state machine drives deposits and withdrawals (adjustments against the external
account, through the AdjustBalance command), two-legged moves and multi-legged splits between
users' available/locked accounts and the fees/insurance accounts, and replays of transfers
already posted. A model of the balances predicts which operations must fail with
InsufficientFunds. After every step the database must agree with the model, no account but the
external one may be negative, money is conserved (only adjustments change the total), each
balance equals the sum of its postings, and the reconciliation report is balanced.

Hypothesis cannot drive coroutines itself, so this is a plain test that runs each database call
on its own event loop (an asyncio.Runner) with its own engine; every example uses a fresh asset.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, assume
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.engine import make_engine
from backend.db.ledger import post_transfer
from backend.domain.errors import InsufficientFunds
from backend.domain.ledger import AccountKind, AccountRef, Posting, Transfer, move
from backend.settings import Settings
from commands.accounts.register_user import RegisterUser
from commands.admin.adjust_balance import AdjustBalance
from commands.admin.create_asset import CreateAsset
from commands.bus import CommandBus
from queries.ledger import reconcile
from queries.views import ReconciliationView

T = TypeVar("T")
USERS = 3
EXAMPLES = hypothesis_settings(
    max_examples=50,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class World:
    """What every example shares: one event loop, engine, bus, a few users and an admin."""

    runner: asyncio.Runner
    engine: AsyncEngine
    bus: CommandBus
    users: list[uuid.UUID]
    reader: AsyncConnection  # autocommit: every read sees everything committed so far
    admin_id: uuid.UUID = field(default_factory=uuid.uuid4)
    outcomes: Counter[str] = field(default_factory=Counter)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)


@dataclass(frozen=True)
class LedgerState:
    """One asset as stored: balances, sums of postings, transfer events and reconciliation."""

    balances: dict[AccountRef, Decimal]
    posted: dict[AccountRef, Decimal]
    transfer_events: int
    reconciliation: ReconciliationView


# Every account of one asset with the sum of its postings, and how many transfer events name
# the asset (one per transfer applied).
_ACCOUNTS = text(
    "SELECT a.user_id, a.kind, a.balance, COALESCE(SUM(p.amount), 0) AS posted,"
    " (SELECT count(*) FROM events e WHERE e.event_type = 'ledger.transfer_posted'"
    "  AND e.data->'postings' @> jsonb_build_array(jsonb_build_object('asset', a.asset)))"
    " AS transfer_events"
    " FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id"
    " WHERE a.asset = :asset GROUP BY a.id"
)


async def read_state(conn: AsyncConnection, asset: str) -> LedgerState:
    rows = (await conn.execute(_ACCOUNTS, {"asset": asset})).all()
    [report] = [r for r in await reconcile(conn) if r.asset == asset]
    refs = [AccountRef(asset, row.user_id, AccountKind(row.kind)) for row in rows]
    return LedgerState(
        balances={ref: row.balance for ref, row in zip(refs, rows, strict=True)},
        posted={ref: row.posted for ref, row in zip(refs, rows, strict=True)},
        transfer_events=rows[0].transfer_events if rows else 0,
        reconciliation=report,
    )


async def post(engine: AsyncEngine, transfer: Transfer) -> bool:
    async with engine.begin() as conn:
        return (await post_transfer(conn, transfer)).applied


class LedgerMachine(RuleBasedStateMachine):
    """Set `world` on a subclass before running."""

    world: ClassVar[World]
    transfers = Bundle("transfers")

    def __init__(self) -> None:
        super().__init__()
        self.asset = ""
        self.quantum = Decimal(1)
        self.model: dict[AccountRef, Decimal] = {}  # expected balances; missing means zero
        self.deposited = Decimal(0)  # net of successful adjustments: what came from outside
        self.applied = 0  # transfers posted (each writes one event)

    # ---- helpers ----

    def accounts(self) -> list[AccountRef]:
        """Where money can sit inside the exchange (the external account is reached only by
        adjustments): each user's available and locked accounts, the fees and insurance."""
        return [
            *(
                AccountRef.user(user, self.asset, kind)
                for user in self.world.users
                for kind in (AccountKind.AVAILABLE, AccountKind.LOCKED)
            ),
            AccountRef.system(self.asset, AccountKind.FEES),
            AccountRef.system(self.asset, AccountKind.INSURANCE_FUND),
        ]

    def balance(self, ref: AccountRef) -> Decimal:
        return self.model.get(ref, Decimal(0))

    def funded(self) -> list[AccountRef]:
        return [ref for ref in self.accounts() if self.balance(ref) > 0]

    def draw_source(self, data: st.DataObject) -> AccountRef:
        """Mostly an account holding money (so transfers go through), sometimes any account."""
        funded = self.funded()
        any_account = not funded or data.draw(st.integers(0, 4), label="any source") == 0
        return data.draw(
            st.sampled_from(self.accounts() if any_account else funded), label="source"
        )

    def draw_amount(self, data: st.DataObject, available: Decimal, label: str) -> Decimal:
        """Mostly at most `available` (down to one quantum); about one in five a little more."""
        units = int(available / self.quantum)
        if units and data.draw(st.integers(0, 4), label=f"{label} fits") > 0:
            drawn = data.draw(st.integers(1, units), label=label)
        else:
            drawn = data.draw(st.integers(units + 1, units + 1 + units // 10), label=label)
        return drawn * self.quantum

    def would_overdraw(self, net: dict[AccountRef, Decimal]) -> bool:
        return any(
            self.balance(ref) + delta < 0
            for ref, delta in net.items()
            if ref.kind is not AccountKind.EXTERNAL
        )

    def apply(self, net: dict[AccountRef, Decimal]) -> None:
        for ref, delta in net.items():
            self.model[ref] = self.balance(ref) + delta

    def post_and_check(self, transfer: Transfer) -> Any:
        """Post; the model says whether it must fail. Returns the transfer if it was applied."""
        net = transfer.net_by_account()
        must_fail = self.would_overdraw(net)
        try:
            applied = self.world.run(post(self.world.engine, transfer))
        except InsufficientFunds as refused:
            assert must_fail, f"refused a transfer the balances allow: {refused}"
            self.world.outcomes["refused transfer"] += 1
            return multiple()
        assert not must_fail, "posted a transfer that overdraws an account"
        assert applied
        self.apply(net)
        self.applied += 1
        self.world.outcomes["applied"] += 1
        return transfer

    # ---- rules ----

    @initialize(precision=st.sampled_from([0, 2, 8, 18]))
    def new_asset(self, precision: int) -> None:
        self.asset = "T" + uuid.uuid4().hex[:8].upper()
        self.world.run(self.world.bus.execute(CreateAsset(self.asset, precision)))
        self.quantum = Decimal(1).scaleb(-precision)

    @rule(data=st.data(), user=st.integers(0, USERS - 1), withdraw=st.booleans())
    def adjust(self, data: st.DataObject, user: int, withdraw: bool) -> None:
        account = AccountRef.user(self.world.users[user], self.asset, AccountKind.AVAILABLE)
        external = AccountRef.system(self.asset, AccountKind.EXTERNAL)
        if withdraw:
            amount = -self.draw_amount(data, self.balance(account), "withdrawal")
        else:
            amount = data.draw(st.integers(1, 10**6), label="deposit") * self.quantum
        must_fail = self.would_overdraw({account: amount})
        command = AdjustBalance(
            self.world.admin_id,
            str(self.world.users[user]),
            self.asset,
            amount,
            "property test",
            uuid.uuid4().hex,
        )
        try:
            self.world.run(self.world.bus.execute(command))
        except InsufficientFunds:
            assert must_fail, "refused a withdrawal the balance allows"
            self.world.outcomes["refused adjustment"] += 1
            return
        assert not must_fail, "withdrew more than the balance"
        self.apply({account: amount, external: -amount})
        self.deposited += amount
        self.applied += 1
        self.world.outcomes["adjusted"] += 1

    @precondition(lambda self: self.funded())
    @rule(target=transfers, data=st.data())
    def transfer(self, data: st.DataObject) -> Any:
        source = self.draw_source(data)
        destination = data.draw(
            st.sampled_from(self.accounts()).filter(lambda r: r != source), label="destination"
        )
        amount = self.draw_amount(data, self.balance(source), "amount")
        return self.post_and_check(
            move(f"prop:{uuid.uuid4().hex}", "test", source, destination, amount)
        )

    @precondition(lambda self: self.funded())
    @rule(target=transfers, data=st.data())
    def split(self, data: st.DataObject) -> Any:
        # One payer, up to four payees; repeats and the payer itself are allowed, so postings
        # net out per account before they are applied.
        payer = self.draw_source(data)
        total = self.draw_amount(data, self.balance(payer), "total")
        payees = data.draw(
            st.lists(st.sampled_from(self.accounts()), min_size=1, max_size=4), label="payees"
        )
        cuts = sorted(
            data.draw(
                st.lists(
                    st.integers(0, int(total / self.quantum)),
                    min_size=len(payees) - 1,
                    max_size=len(payees) - 1,
                ),
                label="cuts",
            )
        )
        shares = [
            (b - a) * self.quantum
            for a, b in zip([0, *cuts], [*cuts, int(total / self.quantum)], strict=True)
        ]
        legs = tuple(
            Posting(ref, share) for ref, share in zip(payees, shares, strict=True) if share
        )
        transfer = Transfer(f"prop:{uuid.uuid4().hex}", "split", (Posting(payer, -total), *legs))
        assume(transfer.net_by_account())  # all legs cancelling out is covered elsewhere
        return self.post_and_check(transfer)

    @rule(transfer=transfers)
    def replay(self, transfer: Transfer) -> None:
        applied = self.world.run(post(self.world.engine, transfer))
        assert applied is False, "a transfer id was posted twice"
        self.world.outcomes["replayed"] += 1

    # ---- invariants, checked after every step ----

    @invariant()
    def ledger_is_sound(self) -> None:
        if not self.asset:
            return
        state = self.world.run(read_state(self.world.reader, self.asset))
        report = state.reconciliation
        external = AccountRef.system(self.asset, AccountKind.EXTERNAL)

        def nonzero(balances: dict[AccountRef, Decimal]) -> dict[AccountRef, Decimal]:
            return {ref: value for ref, value in balances.items() if value != 0}

        assert nonzero(state.balances) == nonzero(self.model)
        assert all(balance >= 0 for ref, balance in state.balances.items() if ref != external)
        inside = sum((b for ref, b in state.balances.items() if ref != external), Decimal(0))
        assert inside == -state.balances.get(external, Decimal(0)) == self.deposited
        assert state.posted == state.balances
        assert state.transfer_events == self.applied
        assert report.balanced, report
        assert report.ledger_total == self.deposited


async def start(settings: Settings, runner: asyncio.Runner) -> World:
    engine = make_engine(settings, pool_size=2)
    bus = CommandBus(engine)
    users = [
        await bus.execute(RegisterUser(f"{uuid.uuid4().hex[:12]}@example.com", "correct-horse-9"))
        for _ in range(USERS)
    ]
    reader = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
    return World(runner, engine, bus, users, reader)


async def stop(world: World) -> None:
    await world.reader.close()
    await world.engine.dispose()


def test_random_operations_keep_the_ledger_sound(settings: Settings) -> None:
    # given: a loop of our own (pytest-asyncio's session loop is not running in a sync test)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        world = runner.run(start(settings, runner))

        class Machine(LedgerMachine):
            pass

        Machine.world = world
        try:
            # when / then: the invariants hold after every step of every example
            run_state_machine_as_test(Machine, settings=EXAMPLES)
        finally:
            runner.run(stop(world))
    # then: the examples really exercised both outcomes and idempotent replays
    assert world.outcomes["applied"] > 0
    assert world.outcomes["adjusted"] > 0
    assert world.outcomes["refused adjustment"] > 0
    assert world.outcomes["refused transfer"] > 0
    assert world.outcomes["replayed"] > 0
