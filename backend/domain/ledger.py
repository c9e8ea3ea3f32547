"""Double-entry transfers: every movement of money is postings that sum to zero per asset."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from backend.domain.money import EXACT


class AccountKind(StrEnum):
    """User accounts hold a user's money; system accounts hold the exchange's side of it."""

    AVAILABLE = "available"
    LOCKED = "locked"
    # System accounts (no user): trading fees earned, the insurance fund, and the external
    # clearing account, which mirrors money outside the exchange and so may go negative.
    FEES = "fees"
    INSURANCE_FUND = "insurance_fund"
    EXTERNAL = "external"


SYSTEM_KINDS = frozenset({AccountKind.FEES, AccountKind.INSURANCE_FUND, AccountKind.EXTERNAL})


@dataclass(frozen=True, order=True)
class AccountRef:
    """Names an account without knowing its row id: (asset, owner or None for system, kind)."""

    asset: str
    user_id: UUID | None
    kind: AccountKind

    def __post_init__(self) -> None:
        if (self.user_id is None) != (self.kind in SYSTEM_KINDS):
            raise ValueError(
                f"{self.kind} accounts {'need an' if self.user_id is None else 'have no'} owner"
            )

    @classmethod
    def user(cls, user_id: UUID, asset: str, kind: AccountKind) -> AccountRef:
        return cls(asset, user_id, kind)

    @classmethod
    def system(cls, asset: str, kind: AccountKind) -> AccountRef:
        return cls(asset, None, kind)


@dataclass(frozen=True)
class Posting:
    account: AccountRef
    amount: Decimal  # positive raises the account's balance, negative lowers it


class UnbalancedTransfer(ValueError):
    """A programming error: a handler built postings that create or destroy money."""


@dataclass(frozen=True)
class Transfer:
    """One atomic, idempotent movement. `id` is unique for all time: posting it twice is a no-op."""

    id: str
    kind: str
    postings: tuple[Posting, ...]
    reference: str | None = None
    memo: str | None = None

    def __post_init__(self) -> None:
        if not self.postings:
            raise UnbalancedTransfer(f"transfer {self.id} has no postings")
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for posting in self.postings:
            if not posting.amount.is_finite() or posting.amount == 0:
                raise UnbalancedTransfer(f"transfer {self.id}: bad amount {posting.amount}")
            totals[posting.account.asset] = EXACT.add(totals[posting.account.asset], posting.amount)
        unbalanced = {asset: total for asset, total in totals.items() if total != 0}
        if unbalanced:
            raise UnbalancedTransfer(f"transfer {self.id} does not balance: {unbalanced}")

    def net_by_account(self) -> dict[AccountRef, Decimal]:
        net: dict[AccountRef, Decimal] = defaultdict(Decimal)
        for posting in self.postings:
            net[posting.account] = EXACT.add(net[posting.account], posting.amount)
        return {account: amount for account, amount in net.items() if amount != 0}


def move(
    transfer_id: str,
    kind: str,
    source: AccountRef,
    target: AccountRef,
    amount: Decimal,
    *,
    reference: str | None = None,
    memo: str | None = None,
) -> Transfer:
    """The common two-legged transfer: `amount` from `source` to `target`."""
    if source == target:
        raise UnbalancedTransfer(f"transfer {transfer_id} moves money from an account to itself")
    return Transfer(
        transfer_id,
        kind,
        (Posting(source, -amount), Posting(target, amount)),
        reference=reference,
        memo=memo,
    )
