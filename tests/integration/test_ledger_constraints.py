"""The ledger's guarantees in real PostgreSQL: CHECK constraints behind the code, idempotent
posting by transfer id, and all-or-nothing refusal of overdrafts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.ledger import post_transfer
from backend.domain.errors import InsufficientFunds
from backend.domain.ledger import AccountKind, AccountRef, Posting, Transfer, move
from commands.accounts.register_user import RegisterUser
from commands.admin.create_asset import CreateAsset
from commands.bus import CommandBus
from queries.ledger import get_balances, reconcile

D = Decimal


async def new_asset(bus: CommandBus, precision: int = 8) -> str:
    code: str = await bus.execute(CreateAsset("T" + uuid.uuid4().hex[:8].upper(), precision))
    return code


async def new_user(bus: CommandBus) -> uuid.UUID:
    user_id: uuid.UUID = await bus.execute(
        RegisterUser(f"{uuid.uuid4().hex[:12]}@example.com", "correct-horse-9")
    )
    return user_id


def new_id() -> str:
    return f"test:{uuid.uuid4().hex}"


async def post(engine: AsyncEngine, transfer: Transfer) -> bool:
    """Post in a transaction of its own; True when applied."""
    async with engine.begin() as conn:
        return (await post_transfer(conn, transfer)).applied


async def deposit(engine: AsyncEngine, user_id: uuid.UUID, asset: str, amount: str) -> None:
    await post(
        engine,
        move(
            new_id(),
            "adjustment",
            AccountRef.system(asset, AccountKind.EXTERNAL),
            AccountRef.user(user_id, asset, AccountKind.AVAILABLE),
            D(amount),
        ),
    )


@dataclass(frozen=True)
class Snapshot:
    """Everything of one asset a transfer can touch."""

    balances: dict[tuple[str | None, str], Decimal]
    postings: list[tuple[str, int, Decimal]]
    transfer_events: int


async def snapshot(engine: AsyncEngine, asset: str) -> Snapshot:
    async with engine.connect() as conn:
        accounts = await conn.execute(
            text("SELECT user_id, kind, balance FROM ledger_accounts WHERE asset = :asset"),
            {"asset": asset},
        )
        rows = await conn.execute(
            text(
                "SELECT p.transfer_id, p.account_id, p.amount FROM postings p"
                " JOIN ledger_accounts a ON a.id = p.account_id WHERE a.asset = :asset"
                " ORDER BY p.id"
            ),
            {"asset": asset},
        )
        events = await conn.execute(
            text(
                "SELECT count(*) FROM events WHERE event_type = 'ledger.transfer_posted'"
                " AND data->'postings' @> CAST(:asset AS jsonb)"
            ),
            {"asset": f'[{{"asset": "{asset}"}}]'},
        )
        return Snapshot(
            {(str(r.user_id) if r.user_id else None, r.kind): r.balance for r in accounts},
            [(r.transfer_id, r.account_id, r.amount) for r in rows],
            events.scalar_one(),
        )


async def transfer_exists(engine: AsyncEngine, transfer_id: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT 1 FROM transfers WHERE id = :id"), {"id": transfer_id}
        )
        return found.first() is not None


async def account_id(engine: AsyncEngine, ref: AccountRef) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT id FROM ledger_accounts WHERE asset = :asset AND kind = :kind"
                " AND user_id IS NOT DISTINCT FROM :user_id"
            ),
            {"asset": ref.asset, "kind": ref.kind.value, "user_id": ref.user_id},
        )
        return int(found.scalar_one())


async def refused_sql(engine: AsyncEngine, sql: str, params: dict[str, object]) -> DBAPIError:
    """Run raw SQL that must fail; returns the error (the transaction is rolled back)."""
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    return caught.value


def constraint_of(error: DBAPIError) -> str | None:
    name: str | None = error.orig.diag.constraint_name  # type: ignore[union-attr]
    return name


async def test_database_refuses_a_negative_user_balance(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    await deposit(engine, user_id, asset, "5")
    account = await account_id(engine, AccountRef.user(user_id, asset, AccountKind.AVAILABLE))
    # when
    update = await refused_sql(
        engine, "UPDATE ledger_accounts SET balance = balance - 6 WHERE id = :id", {"id": account}
    )
    insert = await refused_sql(
        engine,
        "INSERT INTO ledger_accounts (asset, user_id, kind, balance)"
        " VALUES (:asset, :user_id, 'locked', -0.000000000000000001)",
        {"asset": asset, "user_id": user_id},
    )
    # then
    for error in (update, insert):
        assert isinstance(error, IntegrityError)
        assert isinstance(error.orig, pg_errors.CheckViolation)
        assert constraint_of(error) == "ck_ledger_accounts_non_negative"
    assert (await snapshot(engine, asset)).balances[(str(user_id), "available")] == D(5)


@pytest.mark.parametrize("kind", ["fees", "insurance_fund"])
async def test_database_refuses_negative_system_balances_except_external(
    engine: AsyncEngine, bus: CommandBus, kind: str
) -> None:
    # given
    asset = await new_asset(bus)
    # when
    error = await refused_sql(
        engine,
        "INSERT INTO ledger_accounts (asset, user_id, kind, balance)"
        " VALUES (:asset, NULL, :kind, -1)",
        {"asset": asset, "kind": kind},
    )
    # then
    assert constraint_of(error) == "ck_ledger_accounts_non_negative"


async def test_database_lets_only_the_external_account_go_negative(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    await deposit(engine, user_id, asset, "1")
    account = await account_id(engine, AccountRef.user(user_id, asset, AccountKind.AVAILABLE))
    # when
    flagged_insert = await refused_sql(
        engine,
        "INSERT INTO ledger_accounts (asset, user_id, kind, balance, may_go_negative)"
        " VALUES (:asset, :user_id, 'locked', -5, true)",
        {"asset": asset, "user_id": user_id},
    )
    flagged_update = await refused_sql(
        engine,
        "UPDATE ledger_accounts SET may_go_negative = true, balance = -1 WHERE id = :id",
        {"id": account},
    )
    fees_insert = await refused_sql(
        engine,
        "INSERT INTO ledger_accounts (asset, user_id, kind, may_go_negative)"
        " VALUES (:asset, NULL, 'fees', true)",
        {"asset": asset},
    )
    # then
    for error in (flagged_insert, flagged_update, fees_insert):
        assert isinstance(error, IntegrityError)
        assert constraint_of(error) == "ck_ledger_accounts_only_external_negative"


@pytest.mark.parametrize("kind", ["available", "external"])
async def test_database_refuses_a_nan_balance(
    engine: AsyncEngine, bus: CommandBus, kind: str
) -> None:
    # given: the external account may go negative, but is not exempt from the NaN check
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    await deposit(engine, user_id, asset, "1")
    ref = (
        AccountRef.user(user_id, asset, AccountKind.AVAILABLE)
        if kind == "available"
        else AccountRef.system(asset, AccountKind.EXTERNAL)
    )
    account = await account_id(engine, ref)
    # when
    error = await refused_sql(
        engine, "UPDATE ledger_accounts SET balance = 'NaN' WHERE id = :id", {"id": account}
    )
    # then
    assert isinstance(error, IntegrityError)
    assert constraint_of(error) == "ck_ledger_accounts_balance_not_nan"


@pytest.mark.parametrize(
    ("amount", "constraint"),
    [("NaN", "ck_postings_amount_not_nan"), ("0", "ck_postings_non_zero")],
)
async def test_database_refuses_nan_and_zero_postings(
    engine: AsyncEngine, bus: CommandBus, amount: str, constraint: str
) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    await deposit(engine, user_id, asset, "1")
    account = await account_id(engine, AccountRef.user(user_id, asset, AccountKind.AVAILABLE))
    transfer_id = new_id()
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO transfers (id, kind) VALUES (:id, 'test')"), {"id": transfer_id}
        )
    # when
    error = await refused_sql(
        engine,
        "INSERT INTO postings (transfer_id, account_id, amount)"
        " VALUES (:transfer_id, :account_id, CAST(:amount AS numeric))",
        {"transfer_id": transfer_id, "account_id": account, "amount": amount},
    )
    # then
    assert isinstance(error, IntegrityError)
    assert constraint_of(error) == constraint


async def test_database_ties_owners_to_account_kinds(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    sql = (
        "INSERT INTO ledger_accounts (asset, user_id, kind)"
        " VALUES (:asset, CAST(:user_id AS uuid), :kind)"
    )
    # when
    ownerless = await refused_sql(
        engine, sql, {"asset": asset, "user_id": None, "kind": "available"}
    )
    owned = await refused_sql(
        engine, sql, {"asset": asset, "user_id": str(user_id), "kind": "external"}
    )
    # then
    assert constraint_of(ownerless) == constraint_of(owned) == "ck_ledger_accounts_owner_kind"


async def test_posting_moves_balances_and_records_postings_and_one_event(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus, 2)
    alice, bob = await new_user(bus), await new_user(bus)
    await deposit(engine, alice, asset, "10")
    transfer = Transfer(
        new_id(),
        "trade",
        (
            Posting(AccountRef.user(alice, asset, AccountKind.AVAILABLE), D("-4")),
            Posting(AccountRef.user(bob, asset, AccountKind.AVAILABLE), D("3.9")),
            Posting(AccountRef.system(asset, AccountKind.FEES), D("0.1")),
        ),
    )
    before = await snapshot(engine, asset)
    # when
    applied = await post(engine, transfer)
    # then
    after = await snapshot(engine, asset)
    assert applied
    assert after.balances == {
        (str(alice), "available"): D("6"),
        (str(bob), "available"): D("3.9"),
        (None, "fees"): D("0.1"),
        (None, "external"): D("-10"),
    }
    assert len(after.postings) == len(before.postings) + 3
    assert after.transfer_events == before.transfer_events + 1
    async with engine.connect() as conn:
        [balance] = await get_balances(conn, bob)
    assert (balance.asset, balance.available, balance.locked) == (asset, D("3.9"), D(0))


async def test_posting_is_idempotent_by_transfer_id(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = await new_asset(bus)
    alice, bob = await new_user(bus), await new_user(bus)
    await deposit(engine, alice, asset, "10")
    transfer = move(
        new_id(),
        "transfer",
        AccountRef.user(alice, asset, AccountKind.AVAILABLE),
        AccountRef.user(bob, asset, AccountKind.AVAILABLE),
        D("2.5"),
    )
    first = await post(engine, transfer)
    before = await snapshot(engine, asset)
    # when
    again = await post(engine, transfer)
    # then
    assert first is True
    assert again is False
    assert await snapshot(engine, asset) == before
    assert before.balances[(str(bob), "available")] == D("2.5")


async def test_a_reused_transfer_id_changes_nothing_even_with_other_postings(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    alice, bob = await new_user(bus), await new_user(bus)
    await deposit(engine, alice, asset, "10")
    transfer_id = new_id()
    alice_available = AccountRef.user(alice, asset, AccountKind.AVAILABLE)
    await post(
        engine,
        move(
            transfer_id,
            "transfer",
            alice_available,
            AccountRef.user(bob, asset, AccountKind.AVAILABLE),
            D("1"),
        ),
    )
    before = await snapshot(engine, asset)
    # when
    async with engine.begin() as conn:
        result = await post_transfer(
            conn,
            move(
                transfer_id,
                "transfer",
                alice_available,
                AccountRef.user(bob, asset, AccountKind.AVAILABLE),
                D("9"),
            ),
        )
    # then
    assert result.applied is False
    assert await snapshot(engine, asset) == before


async def test_a_replayed_transfer_creates_no_accounts(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    alice = await new_user(bus)
    await deposit(engine, alice, asset, "10")
    transfer_id = new_id()
    alice_available = AccountRef.user(alice, asset, AccountKind.AVAILABLE)
    await post(
        engine,
        move(
            transfer_id,
            "lock",
            alice_available,
            AccountRef.user(alice, asset, AccountKind.LOCKED),
            D("1"),
        ),
    )
    before = await snapshot(engine, asset)
    # when: the same id again, naming the fees account, which does not exist yet
    applied = await post(
        engine,
        move(
            transfer_id, "lock", alice_available, AccountRef.system(asset, AccountKind.FEES), D("1")
        ),
    )
    # then
    assert applied is False
    assert await snapshot(engine, asset) == before


async def test_overdraft_raises_and_changes_nothing(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = await new_asset(bus, 6)
    alice, bob = await new_user(bus), await new_user(bus)
    await deposit(engine, alice, asset, "10")
    transfer = move(
        new_id(),
        "transfer",
        AccountRef.user(alice, asset, AccountKind.AVAILABLE),
        AccountRef.user(bob, asset, AccountKind.AVAILABLE),
        D("10.000001"),
    )
    before = await snapshot(engine, asset)
    # when
    with pytest.raises(InsufficientFunds) as caught:
        await post(engine, transfer)
    # then
    assert caught.value.asset == asset
    assert caught.value.code == "INSUFFICIENT_FUNDS"
    assert await snapshot(engine, asset) == before
    assert not await transfer_exists(engine, transfer.id)


async def test_overdraft_on_any_leg_rolls_back_the_legs_already_applied(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given: balances are updated in account id order, so Alice's (older) account is debited
    # before Bob's overdraft is detected
    asset = await new_asset(bus)
    alice, bob = await new_user(bus), await new_user(bus)
    await deposit(engine, alice, asset, "10")
    await deposit(engine, bob, asset, "1")
    transfer = Transfer(
        new_id(),
        "trade",
        (
            Posting(AccountRef.user(alice, asset, AccountKind.AVAILABLE), D("-5")),
            Posting(AccountRef.user(alice, asset, AccountKind.LOCKED), D("5")),
            Posting(AccountRef.user(bob, asset, AccountKind.AVAILABLE), D("-2")),
            Posting(AccountRef.system(asset, AccountKind.FEES), D("2")),
        ),
    )
    before = await snapshot(engine, asset)
    # when
    with pytest.raises(InsufficientFunds):
        await post(engine, transfer)
    # then
    assert await snapshot(engine, asset) == before
    assert not await transfer_exists(engine, transfer.id)


async def test_a_refused_transfer_id_can_be_posted_later(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    alice, bob = await new_user(bus), await new_user(bus)
    transfer = move(
        new_id(),
        "transfer",
        AccountRef.user(alice, asset, AccountKind.AVAILABLE),
        AccountRef.user(bob, asset, AccountKind.AVAILABLE),
        D("3"),
    )
    with pytest.raises(InsufficientFunds):
        await post(engine, transfer)
    await deposit(engine, alice, asset, "3")
    # when
    applied = await post(engine, transfer)
    # then
    assert applied
    balances = (await snapshot(engine, asset)).balances
    assert balances[(str(alice), "available")] == D(0)
    assert balances[(str(bob), "available")] == D(3)


async def test_external_account_may_go_negative(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    # when
    await deposit(engine, user_id, asset, "7.5")
    await deposit(engine, user_id, asset, "2.5")
    # then
    balances = (await snapshot(engine, asset)).balances
    assert balances[(None, "external")] == D("-10")
    assert balances[(str(user_id), "available")] == D("10")
    async with engine.connect() as conn:
        [report] = [r for r in await reconcile(conn) if r.asset == asset]
    assert report.balanced
    assert report.external_net == report.ledger_total == report.balances_total == D("10")


async def test_system_accounts_may_not_go_negative(engine: AsyncEngine, bus: CommandBus) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    transfer = move(
        new_id(),
        "payout",
        AccountRef.system(asset, AccountKind.INSURANCE_FUND),
        AccountRef.user(user_id, asset, AccountKind.AVAILABLE),
        D("1"),
    )
    # when / then
    with pytest.raises(InsufficientFunds):
        await post(engine, transfer)


async def test_a_transfer_that_nets_to_nothing_is_recorded_without_postings(
    engine: AsyncEngine, bus: CommandBus
) -> None:
    # given
    asset = await new_asset(bus)
    user_id = await new_user(bus)
    account = AccountRef.user(user_id, asset, AccountKind.AVAILABLE)
    transfer = Transfer(new_id(), "noop", (Posting(account, D("1")), Posting(account, D("-1"))))
    before = await snapshot(engine, asset)
    # when
    applied = await post(engine, transfer)
    # then
    assert applied
    assert await snapshot(engine, asset) == before
