"""Two-factor authentication (TOTP, recovery codes, SMS) and password change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from backend.api.context import Info
from backend.api.errors import (
    AccountUnavailableError,
    AlreadyExistsError,
    InvalidCredentialsError,
    InvalidSecondFactorError,
    LimitExceededError,
    NotFoundError,
    SecondFactorRequiredError,
    ValidationError,
)
from backend.api.execution import execute
from backend.api.permissions import AUTHENTICATED, current_user
from backend.api.second_factor import SecondFactorInput, proof_of
from commands.accounts.change_password import ChangePassword, PasswordChanged
from commands.accounts.two_factor.sms import (
    BeginSmsEnrolment,
    ConfirmSmsEnrolment,
    DisableSms,
    RequestLoginSmsCode,
    RequestSmsCode,
)
from commands.accounts.two_factor.sms_codes import SmsCodeIssued
from commands.accounts.two_factor.totp_enrolment import (
    BeginTotpEnrolment,
    ConfirmTotpEnrolment,
    RecoveryCodesIssued,
    TotpEnrolmentStarted,
)
from commands.accounts.two_factor.totp_management import DisableTotp, RegenerateRecoveryCodes
from queries.account_security import get_account_security


@strawberry.type(description="How the account is protected.")
class AccountSecurity:
    two_factor_methods: list[str] = strawberry.field(
        description="Enabled second factors: `TOTP`, `RECOVERY_CODE`, `SMS` (empty: 2FA is off)."
    )
    recovery_codes_left: int = strawberry.field(description="Unused recovery codes.")
    totp_pending: bool = strawberry.field(
        description="A TOTP enrolment was begun and waits for its first code."
    )
    phone: str | None = strawberry.field(
        description="The SMS phone, masked (`+44*******23`); null if none."
    )
    withdrawals_locked_until: datetime | None = strawberry.field(
        description="Withdrawals are refused until then (24 h after a password or 2FA change);"
        " null when they are not locked."
    )


async def security_of(info: Info, user_id: uuid.UUID) -> AccountSecurity:
    async with info.context.services.engine.connect() as conn:
        view = await get_account_security(conn, user_id)
    return AccountSecurity(
        two_factor_methods=list(view.methods),
        recovery_codes_left=view.recovery_codes_left,
        totp_pending=view.totp_pending,
        phone=view.phone_hint,
        withdrawals_locked_until=view.withdrawals_locked_until,
    )


@strawberry.type(description="A TOTP enrolment began: show the QR code, then confirm a code.")
class TotpEnrolment:
    secret: str = strawberry.field(description="Base32 secret, for manual entry; shown only now.")
    provisioning_uri: str = strawberry.field(
        description="`otpauth://totp/...` URI to render as a QR code; shown only now."
    )


@strawberry.type(description="New recovery codes: each works once. Shown only now.")
class RecoveryCodes:
    codes: list[str] = strawberry.field(description="Store them somewhere safe.")
    security: AccountSecurity = strawberry.field(description="The account's protection now.")


@strawberry.type(description="An SMS code was sent.")
class SmsCodeSent:
    expires_at: datetime = strawberry.field(description="When the code stops working.")
    phone: str = strawberry.field(description="Where it went, masked.")


@strawberry.type(description="The password was changed.")
class PasswordChange:
    revoked_sessions: int = strawberry.field(description="Other sessions signed out.")
    security: AccountSecurity = strawberry.field(description="The account's protection now.")


@strawberry.input(description="Confirm a TOTP enrolment with the app's first code.")
class ConfirmTotpEnrolmentInput:
    code: str = strawberry.field(description="The 6-digit code the authenticator app shows.")
    second_factor: SecondFactorInput | None = strawberry.field(
        default=None, description="Needed when another factor (SMS) is already enabled."
    )


@strawberry.input(description="Enrol a phone for SMS codes.")
class BeginSmsEnrolmentInput:
    phone: str = strawberry.field(description="International form, e.g. `+447700900123`.")


@strawberry.input(description="Confirm the phone with the code sent to it.")
class ConfirmSmsEnrolmentInput:
    code: str = strawberry.field(description="The 6-digit code of the text message.")
    second_factor: SecondFactorInput | None = strawberry.field(
        default=None, description="Needed when another factor (TOTP) is already enabled."
    )


@strawberry.input(description="Ask for an SMS code to log in with.")
class RequestLoginSmsCodeInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="Password.")


@strawberry.input(description="Change the password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password now.")
    new_password: str = strawberry.field(description="8 to 128 characters.")
    second_factor: SecondFactorInput | None = strawberry.field(
        default=None, description="Needed when two-factor authentication is enabled."
    )


SecondFactorArgument = Annotated[
    SecondFactorInput | None,
    strawberry.argument(description="Needed when two-factor authentication is enabled."),
]
TwoFactorErrors = SecondFactorRequiredError | InvalidSecondFactorError

BeginTotpEnrolmentResult = Annotated[
    TotpEnrolment | AlreadyExistsError, strawberry.union("BeginTotpEnrolmentResult")
]
ConfirmTotpEnrolmentResult = Annotated[
    RecoveryCodes | ValidationError | NotFoundError | AlreadyExistsError | TwoFactorErrors,
    strawberry.union("ConfirmTotpEnrolmentResult"),
]
DisableTwoFactorResult = Annotated[
    AccountSecurity | NotFoundError | TwoFactorErrors, strawberry.union("DisableTwoFactorResult")
]
RegenerateRecoveryCodesResult = Annotated[
    RecoveryCodes | NotFoundError | TwoFactorErrors,
    strawberry.union("RegenerateRecoveryCodesResult"),
]
BeginSmsEnrolmentResult = Annotated[
    SmsCodeSent | ValidationError | AlreadyExistsError | LimitExceededError,
    strawberry.union("BeginSmsEnrolmentResult"),
]
ConfirmSmsEnrolmentResult = Annotated[
    AccountSecurity | ValidationError | NotFoundError | TwoFactorErrors,
    strawberry.union("ConfirmSmsEnrolmentResult"),
]
RequestSmsCodeResult = Annotated[
    SmsCodeSent | NotFoundError | LimitExceededError, strawberry.union("RequestSmsCodeResult")
]
RequestLoginSmsCodeResult = Annotated[
    SmsCodeSent
    | ValidationError
    | InvalidCredentialsError
    | AccountUnavailableError
    | NotFoundError
    | LimitExceededError,
    strawberry.union("RequestLoginSmsCodeResult"),
]
ChangePasswordResult = Annotated[
    PasswordChange | ValidationError | TwoFactorErrors, strawberry.union("ChangePasswordResult")
]


def _sent(issued: SmsCodeIssued) -> SmsCodeSent:
    return SmsCodeSent(expires_at=issued.expires_at, phone=issued.phone_hint)


@strawberry.type
class TwoFactorMutation:
    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Begin TOTP enrolment: a new secret and its provisioning URI (a pending"
        " enrolment is replaced). Nothing is enabled until confirmTotpEnrolment.",
    )
    async def begin_totp_enrolment(self, info: Info) -> BeginTotpEnrolmentResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(started: TotpEnrolmentStarted) -> TotpEnrolment:
            return TotpEnrolment(secret=started.secret, provisioning_uri=started.provisioning_uri)

        return await execute(info, lambda: BeginTotpEnrolment(user_id, settings), present)

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Enable TOTP with the first valid code; returns the recovery codes (once)."
        " Locks withdrawals for 24 h.",
    )
    async def confirm_totp_enrolment(
        self, info: Info, input: ConfirmTotpEnrolmentInput
    ) -> ConfirmTotpEnrolmentResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(issued: RecoveryCodesIssued) -> RecoveryCodes:
            return RecoveryCodes(codes=issued.codes, security=await security_of(info, user_id))

        return await execute(
            info,
            lambda: ConfirmTotpEnrolment(
                user_id, input.code, proof_of(input.second_factor), settings
            ),
            present,
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Disable TOTP and its recovery codes. Locks withdrawals for 24 h.",
    )
    async def disable_totp(
        self, info: Info, second_factor: SecondFactorArgument = None
    ) -> DisableTwoFactorResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(_: datetime) -> AccountSecurity:
            return await security_of(info, user_id)

        return await execute(
            info, lambda: DisableTotp(user_id, proof_of(second_factor), settings), present
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Replace every recovery code with a new set (shown once)."
        " Locks withdrawals for 24 h.",
    )
    async def regenerate_recovery_codes(
        self, info: Info, second_factor: SecondFactorArgument = None
    ) -> RegenerateRecoveryCodesResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(issued: RecoveryCodesIssued) -> RecoveryCodes:
            return RecoveryCodes(codes=issued.codes, security=await security_of(info, user_id))

        return await execute(
            info,
            lambda: RegenerateRecoveryCodes(user_id, proof_of(second_factor), settings),
            present,
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Send a code to a phone to enrol it as a backup factor.",
    )
    async def begin_sms_enrolment(
        self, info: Info, input: BeginSmsEnrolmentInput
    ) -> BeginSmsEnrolmentResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(issued: SmsCodeIssued) -> SmsCodeSent:
            return _sent(issued)

        return await execute(
            info, lambda: BeginSmsEnrolment(user_id, input.phone, settings), present
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Enable SMS with the code sent to the phone. Locks withdrawals for 24 h.",
    )
    async def confirm_sms_enrolment(
        self, info: Info, input: ConfirmSmsEnrolmentInput
    ) -> ConfirmSmsEnrolmentResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(_: datetime) -> AccountSecurity:
            return await security_of(info, user_id)

        return await execute(
            info,
            lambda: ConfirmSmsEnrolment(
                user_id, input.code, proof_of(input.second_factor), settings
            ),
            present,
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Remove the SMS phone. Locks withdrawals for 24 h.",
    )
    async def disable_sms(
        self, info: Info, second_factor: SecondFactorArgument = None
    ) -> DisableTwoFactorResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(_: datetime) -> AccountSecurity:
            return await security_of(info, user_id)

        return await execute(
            info, lambda: DisableSms(user_id, proof_of(second_factor), settings), present
        )

    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Text a code to approve a sensitive action (send it as secondFactor.smsCode).",
    )
    async def request_sms_code(self, info: Info) -> RequestSmsCodeResult:
        user_id = current_user(info).user.id
        settings = info.context.services.settings

        async def present(issued: SmsCodeIssued) -> SmsCodeSent:
            return _sent(issued)

        return await execute(info, lambda: RequestSmsCode(user_id, settings), present)

    @strawberry.mutation(
        description="Text a code to log in with (after login answered SecondFactorRequiredError)."
    )
    async def request_login_sms_code(
        self, info: Info, input: RequestLoginSmsCodeInput
    ) -> RequestLoginSmsCodeResult:
        settings = info.context.services.settings

        async def present(issued: SmsCodeIssued) -> SmsCodeSent:
            return _sent(issued)

        return await execute(
            info,
            lambda: RequestLoginSmsCode(input.email, input.password, settings),
            present,
        )


@strawberry.type
class PasswordMutation:
    @strawberry.mutation(
        permission_classes=AUTHENTICATED,
        description="Change the password. Signs out every other session and locks withdrawals"
        " for 24 h.",
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordResult:
        session = current_user(info)
        settings = info.context.services.settings

        async def present(changed: PasswordChanged) -> PasswordChange:
            return PasswordChange(
                revoked_sessions=changed.revoked_sessions,
                security=await security_of(info, session.user.id),
            )

        return await execute(
            info,
            lambda: ChangePassword(
                session.user.id,
                session.session_id,
                input.current_password,
                input.new_password,
                proof_of(input.second_factor),
                settings,
            ),
            present,
        )
