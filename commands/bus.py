"""Dispatches a command to its handler inside one unit of work (explicit registry, no magic)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.accounts.anti_phishing import SetAntiPhishingCode, set_anti_phishing_code
from commands.accounts.change_password import ChangePassword, change_password
from commands.accounts.end_session import EndSession, end_session
from commands.accounts.ensure_admin import EnsureAdmin, ensure_admin
from commands.accounts.register_user import RegisterUser, register_user
from commands.accounts.revoke_sessions import (
    RevokeOtherSessions,
    RevokeSession,
    revoke_other_sessions,
    revoke_session,
)
from commands.accounts.start_session import StartSession, start_session
from commands.accounts.two_factor.sms import (
    BeginSmsEnrolment,
    ConfirmSmsEnrolment,
    DisableSms,
    RequestLoginSmsCode,
    RequestSmsCode,
    begin_sms_enrolment,
    confirm_sms_enrolment,
    disable_sms,
    request_login_sms_code,
    request_sms_code,
)
from commands.accounts.two_factor.totp_enrolment import (
    BeginTotpEnrolment,
    ConfirmTotpEnrolment,
    begin_totp_enrolment,
    confirm_totp_enrolment,
)
from commands.accounts.two_factor.totp_management import (
    DisableTotp,
    RegenerateRecoveryCodes,
    disable_totp,
    regenerate_recovery_codes,
)
from commands.admin.adjust_balance import AdjustBalance, adjust_balance
from commands.admin.create_asset import CreateAsset, create_asset
from commands.admin.create_market import CreateMarket, create_market
from commands.admin.set_account_status import SetAccountStatus, set_account_status
from commands.admin.update_market import UpdateMarket, update_market
from commands.api_keys.create_api_key import CreateApiKey, create_api_key
from commands.api_keys.revoke_api_key import RevokeApiKey, revoke_api_key
from commands.api_keys.set_market_maker import SetApiKeyMarketMaker, set_api_key_market_maker
from commands.spot.cancel_order import (
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    amend_order,
    cancel_all_orders,
    cancel_order,
)
from commands.spot.place_oco_order import PlaceOcoOrder, place_oco_order
from commands.spot.place_order import CheckOrder, PlaceOrder, check_order, place_order
from commands.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[Any, UnitOfWork], Awaitable[Any]]

HANDLERS: dict[type[Any], Handler] = {
    RegisterUser: register_user,
    StartSession: start_session,
    EndSession: end_session,
    EnsureAdmin: ensure_admin,
    CreateAsset: create_asset,
    CreateMarket: create_market,
    UpdateMarket: update_market,
    AdjustBalance: adjust_balance,
    CheckOrder: check_order,
    PlaceOrder: place_order,
    PlaceOcoOrder: place_oco_order,
    CancelOrder: cancel_order,
    CancelAllOrders: cancel_all_orders,
    AmendOrder: amend_order,
    # two-factor authentication and password changes
    BeginTotpEnrolment: begin_totp_enrolment,
    ConfirmTotpEnrolment: confirm_totp_enrolment,
    DisableTotp: disable_totp,
    RegenerateRecoveryCodes: regenerate_recovery_codes,
    BeginSmsEnrolment: begin_sms_enrolment,
    ConfirmSmsEnrolment: confirm_sms_enrolment,
    DisableSms: disable_sms,
    RequestSmsCode: request_sms_code,
    RequestLoginSmsCode: request_login_sms_code,
    ChangePassword: change_password,
    # Login protection, sessions, account status (issue 5).
    RevokeSession: revoke_session,
    RevokeOtherSessions: revoke_other_sessions,
    SetAntiPhishingCode: set_anti_phishing_code,
    SetAccountStatus: set_account_status,
    # API keys
    CreateApiKey: create_api_key,
    RevokeApiKey: revoke_api_key,
    SetApiKeyMarketMaker: set_api_key_market_maker,
}

# Transient conflicts between concurrent transactions: the whole command is simply run again.
RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
MAX_ATTEMPTS = 3


class CommandBus:
    """`max_concurrent` caps the command transactions open at once (None: no cap). Short of CPU,
    many interleaved transactions each stay open for long, and every open one holds back the
    event log's visibility horizon (the matcher sees orders late) and its locks; queued before
    BEGIN, a command holds neither."""

    def __init__(
        self,
        engine: AsyncEngine,
        after_commit: Callable[[], Awaitable[None]] | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        self.engine = engine
        self._after_commit = after_commit
        self._gate = asyncio.Semaphore(max_concurrent) if max_concurrent else None

    async def execute(self, command: Any) -> Any:
        async with self._gate or contextlib.nullcontext():
            return await self._execute(command)

    async def _execute(self, command: Any) -> Any:
        handler = HANDLERS[type(command)]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with UnitOfWork(self.engine) as uow:
                    result = await handler(command, uow)
                    if self._after_commit is not None:
                        uow.after_commit(self._after_commit)
                return result
            except (DBAPIError, psycopg.Error) as exc:
                # psycopg's own errors come from statements on the driver's connection.
                cause = exc.orig if isinstance(exc, DBAPIError) else exc
                if not isinstance(cause, RETRYABLE) or attempt == MAX_ATTEMPTS:
                    raise
                log.warning("retrying %s after %s", type(command).__name__, type(cause).__name__)
        raise AssertionError("unreachable")
