"""Frozen read DTOs returned by query functions (the API turns them into GraphQL types)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    email: str
    role: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class SessionUser:
    user: UserView
    session_id: uuid.UUID
    expires_at: datetime
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class BalanceView:
    asset: str
    precision: int
    available: Decimal
    locked: Decimal


@dataclass(frozen=True)
class LedgerEntryView:
    position: int
    asset: str
    precision: int
    kind: str
    amount: Decimal
    transfer_id: str
    transfer_kind: str
    recorded_at: datetime


@dataclass(frozen=True)
class AssetView:
    code: str
    precision: int


@dataclass(frozen=True)
class ReconciliationView:
    asset: str
    precision: int
    ledger_total: Decimal
    balances_total: Decimal
    external_net: Decimal
    mismatched_accounts: int
    unbalanced_transfers: int

    @property
    def balanced(self) -> bool:
        return (
            self.mismatched_accounts == 0
            and self.unbalanced_transfers == 0
            and self.ledger_total == self.balances_total == self.external_net
        )
