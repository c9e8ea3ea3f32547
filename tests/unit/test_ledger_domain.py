"""Double-entry transfers: postings balance per asset, accounts name their owner rightly."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from backend.domain.ledger import (
    SYSTEM_KINDS,
    AccountKind,
    AccountRef,
    Posting,
    Transfer,
    UnbalancedTransfer,
    move,
)

D = Decimal
ALICE = uuid.UUID(int=1)
BOB = uuid.UUID(int=2)
USER_KINDS = [kind for kind in AccountKind if kind not in SYSTEM_KINDS]


def available(user_id: uuid.UUID = ALICE, asset: str = "BTC") -> AccountRef:
    return AccountRef.user(user_id, asset, AccountKind.AVAILABLE)


def locked(user_id: uuid.UUID = ALICE, asset: str = "BTC") -> AccountRef:
    return AccountRef.user(user_id, asset, AccountKind.LOCKED)


def external(asset: str = "BTC") -> AccountRef:
    return AccountRef.system(asset, AccountKind.EXTERNAL)


def test_system_kinds() -> None:
    # then
    assert {AccountKind.FEES, AccountKind.INSURANCE_FUND, AccountKind.EXTERNAL} == SYSTEM_KINDS
    assert set(USER_KINDS) == {AccountKind.AVAILABLE, AccountKind.LOCKED}


@pytest.mark.parametrize("kind", USER_KINDS)
def test_user_accounts_have_an_owner(kind: AccountKind) -> None:
    # when
    ref = AccountRef.user(ALICE, "BTC", kind)
    # then
    assert ref == AccountRef("BTC", ALICE, kind)
    with pytest.raises(ValueError, match="owner"):
        AccountRef("BTC", None, kind)


@pytest.mark.parametrize("kind", sorted(SYSTEM_KINDS))
def test_system_accounts_have_no_owner(kind: AccountKind) -> None:
    # when
    ref = AccountRef.system("BTC", kind)
    # then
    assert ref == AccountRef("BTC", None, kind)
    with pytest.raises(ValueError, match="owner"):
        AccountRef.user(ALICE, "BTC", kind)


def test_owner_errors_say_what_is_wrong() -> None:
    # when / then
    with pytest.raises(ValueError, match="available accounts need an owner"):
        AccountRef("BTC", None, AccountKind.AVAILABLE)
    with pytest.raises(ValueError, match="fees accounts have no owner"):
        AccountRef("BTC", ALICE, AccountKind.FEES)


def test_account_refs_are_values() -> None:
    # given
    first = AccountRef.user(uuid.UUID(int=1), "BTC", AccountKind.AVAILABLE)
    again = AccountRef.user(uuid.UUID(int=1), "BTC", AccountKind.AVAILABLE)
    # then
    assert first == again
    assert hash(first) == hash(again)
    assert first != AccountRef.user(uuid.UUID(int=1), "ETH", AccountKind.AVAILABLE)
    assert first != AccountRef.user(uuid.UUID(int=1), "BTC", AccountKind.LOCKED)


def test_balanced_transfer_is_accepted() -> None:
    # given
    postings = (
        Posting(available(ALICE), D("-1.5")),
        Posting(available(BOB), D("1.4")),
        Posting(AccountRef.system("BTC", AccountKind.FEES), D("0.1")),
    )
    # when
    transfer = Transfer("t1", "trade", postings, reference="order:1", memo="fill")
    # then
    assert transfer.postings == postings
    assert transfer.reference == "order:1"
    assert transfer.memo == "fill"


def test_transfer_balances_per_asset() -> None:
    # given: the amounts sum to zero overall, but BTC is created and USD destroyed
    postings = (Posting(available(ALICE, "BTC"), D("1")), Posting(available(BOB, "USD"), D("-1")))
    # when / then
    with pytest.raises(UnbalancedTransfer, match="does not balance") as caught:
        Transfer("t2", "trade", postings)
    assert "BTC" in str(caught.value) and "USD" in str(caught.value)


def test_multi_asset_transfer_balanced_in_each_asset() -> None:
    # given: a trade, BTC one way and USD the other
    postings = (
        Posting(available(ALICE, "BTC"), D("-0.5")),
        Posting(available(BOB, "BTC"), D("0.5")),
        Posting(locked(BOB, "USD"), D("-10000")),
        Posting(available(ALICE, "USD"), D("10000")),
    )
    # when
    transfer = Transfer("t3", "trade", postings)
    # then
    assert len(transfer.postings) == 4


@pytest.mark.parametrize(
    "amounts",
    [
        (D("1"), D("-0.999999999999999999")),
        (D("1"),),
        (D("-1"), D("0.5"), D("0.4")),
    ],
)
def test_unbalanced_transfer_is_refused(amounts: tuple[Decimal, ...]) -> None:
    # given
    accounts = [available(ALICE), available(BOB), locked(ALICE)]
    postings = tuple(
        Posting(account, amount) for account, amount in zip(accounts, amounts, strict=False)
    )
    # when / then
    with pytest.raises(UnbalancedTransfer, match="does not balance"):
        Transfer("t4", "test", postings)


def test_transfer_without_postings_is_refused() -> None:
    # when / then
    with pytest.raises(UnbalancedTransfer, match="no postings"):
        Transfer("t5", "test", ())


@pytest.mark.parametrize(
    "amount", [D("0"), D("-0"), D("0E-18"), D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")]
)
def test_zero_and_non_finite_amounts_are_refused(amount: Decimal) -> None:
    # given: the other leg keeps the transfer "balanced" where arithmetic allows
    postings = (
        Posting(available(ALICE), amount),
        Posting(available(BOB), D("1")),
        Posting(external(), D("-1")),
    )
    # when / then
    with pytest.raises(UnbalancedTransfer, match="bad amount"):
        Transfer("t6", "test", postings)


def test_unbalanced_transfer_is_a_value_error() -> None:
    # then
    assert issubclass(UnbalancedTransfer, ValueError)


def test_move_builds_a_two_legged_transfer() -> None:
    # when
    transfer = move(
        "t7", "lock", available(), locked(), D("2.5"), reference="order:7", memo="place order"
    )
    # then
    assert transfer == Transfer(
        "t7",
        "lock",
        (Posting(available(), D("-2.5")), Posting(locked(), D("2.5"))),
        reference="order:7",
        memo="place order",
    )


def test_move_refuses_zero_and_cross_asset() -> None:
    # when / then
    with pytest.raises(UnbalancedTransfer):
        move("t8", "lock", available(), locked(), D("0"))
    with pytest.raises(UnbalancedTransfer):
        move("t9", "swap", available(asset="BTC"), available(asset="ETH"), D("1"))


def test_net_by_account_nets_repeated_accounts() -> None:
    # given
    fees = AccountRef.system("BTC", AccountKind.FEES)
    transfer = Transfer(
        "t10",
        "test",
        (
            Posting(available(ALICE), D("5")),
            Posting(available(BOB), D("-3")),
            Posting(available(ALICE), D("-2")),
            Posting(fees, D("-3")),
            Posting(available(BOB), D("3")),
        ),
    )
    # when
    net = transfer.net_by_account()
    # then: Bob's legs cancel out and he is left out
    assert net == {available(ALICE): D("3"), fees: D("-3")}


def test_move_refuses_a_move_to_the_same_account() -> None:
    # when / then
    with pytest.raises(UnbalancedTransfer, match="to itself"):
        move("t11", "noop", available(), available(), D("1"))


def test_net_of_postings_that_cancel_out_is_empty() -> None:
    # given
    transfer = Transfer(
        "t11", "noop", (Posting(available(), D("1")), Posting(available(), D("-1")))
    )
    # when
    net = transfer.net_by_account()
    # then
    assert net == {}


def test_large_amounts_are_summed_exactly_when_checking_balance() -> None:
    # given: NUMERIC(38, 18) holds these; the transfer creates 0.000000000000000001
    postings = (
        Posting(available(ALICE), D("100000000000")),
        Posting(locked(ALICE), D("0.000000000000000001")),
        Posting(external(), D("-100000000000")),
    )
    # when / then
    with pytest.raises(UnbalancedTransfer):
        Transfer("t12", "test", postings)


def test_large_amounts_are_netted_exactly() -> None:
    # given
    postings = (
        Posting(available(ALICE), D("100000000000")),
        Posting(available(ALICE), D("0.000000000000000001")),
        Posting(external(), D("-100000000000.000000000000000001")),
    )
    # when
    net = Transfer("t13", "test", postings).net_by_account()
    # then
    assert net == {
        available(ALICE): D("100000000000.000000000000000001"),
        external(): D("-100000000000.000000000000000001"),
    }
