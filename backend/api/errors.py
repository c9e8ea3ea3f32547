"""Typed errors: the `Error` interface and one GraphQL type per domain failure."""

from __future__ import annotations

from enum import Enum

import strawberry

from backend.domain import errors as domain


class ErrorCode(Enum):
    """Stable machine-readable error codes (served as strings so that `code` on an error never
    clashes with a `code` field of a success type selected in the same union)."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_UNAVAILABLE = "ACCOUNT_UNAVAILABLE"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    MARKET_UNAVAILABLE = "MARKET_UNAVAILABLE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"
    REPLACEMENT_REFUSED = "REPLACEMENT_REFUSED"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"
    INVALID_SECOND_FACTOR = "INVALID_SECOND_FACTOR"
    LOGIN_LOCKED = "LOGIN_LOCKED"


@strawberry.interface(description="Every expected failure implements Error.")
class Error:
    code: str = strawberry.field(
        description="What went wrong, for programs: " + ", ".join(c.value for c in ErrorCode) + "."
    )
    message: str = strawberry.field(description="What went wrong, for people.")


@strawberry.type(description="The input broke a rule; nothing was changed.")
class ValidationError(Error):
    field: str | None = strawberry.field(description="The input field at fault, in camelCase.")


@strawberry.type(description="The balance is too small for this; nothing was changed.")
class InsufficientFundsError(Error):
    asset: str = strawberry.field(description="The asset that is short.")


@strawberry.type(description="The thing named does not exist.")
class NotFoundError(Error):
    pass


@strawberry.type(description="It exists already with different settings.")
class AlreadyExistsError(Error):
    pass


@strawberry.type(description="The idempotency key was used before for a different request.")
class IdempotencyKeyReusedError(Error):
    pass


@strawberry.type(description="An account with this email exists.")
class EmailTakenError(Error):
    pass


@strawberry.type(description="Email or password is wrong.")
class InvalidCredentialsError(Error):
    pass


@strawberry.type(description="The account may not do this in its current status.")
class AccountUnavailableError(Error):
    pass


@strawberry.type(description="This clientOrderId names another order.")
class DuplicateClientOrderIdError(Error):
    pass


@strawberry.type(description="The market's status does not accept this now.")
class MarketUnavailableError(Error):
    pass


@strawberry.type(description="A limit (open orders, stop orders, the market's backlog) is reached.")
class LimitExceededError(Error):
    pass


@strawberry.type(description="The order has ended (filled, canceled, expired or rejected).")
class OrderNotOpenError(Error):
    pass


@strawberry.type(description="This needs a second factor (TOTP, recovery code or SMS code).")
class SecondFactorRequiredError(Error):
    methods: list[str] = strawberry.field(
        description="The factors this account can use: `TOTP`, `RECOVERY_CODE`, `SMS`."
    )


@strawberry.type(description="The second-factor code is wrong, expired or already used.")
class InvalidSecondFactorError(Error):
    pass


@strawberry.type(
    description="Too many failed logins for this account or address; the password was not checked."
)
class LoginLockedError(Error):
    retry_after_seconds: int = strawberry.field(
        description="Seconds until login is possible again."
    )


AnyError = (
    ValidationError
    | InsufficientFundsError
    | NotFoundError
    | AlreadyExistsError
    | IdempotencyKeyReusedError
    | EmailTakenError
    | InvalidCredentialsError
    | AccountUnavailableError
    | DuplicateClientOrderIdError
    | MarketUnavailableError
    | LimitExceededError
    | OrderNotOpenError
    | SecondFactorRequiredError
    | InvalidSecondFactorError
    | LoginLockedError
)


def error_from(exc: domain.DomainError) -> AnyError:
    """The GraphQL error for a domain failure."""
    code = ErrorCode(exc.code).value
    if isinstance(exc, domain.InvalidInput):
        return ValidationError(code=code, message=exc.message, field=exc.field)
    if isinstance(exc, domain.InsufficientFunds):
        return InsufficientFundsError(code=code, message=exc.message, asset=exc.asset)
    if isinstance(exc, domain.SecondFactorRequired):
        return SecondFactorRequiredError(code=code, message=exc.message, methods=list(exc.methods))
    if isinstance(exc, domain.LoginLocked):
        return LoginLockedError(
            code=code, message=exc.message, retry_after_seconds=exc.retry_after_seconds
        )
    simple: dict[type[domain.DomainError], type[AnyError]] = {
        domain.NotFound: NotFoundError,
        domain.AlreadyExists: AlreadyExistsError,
        domain.IdempotencyKeyReused: IdempotencyKeyReusedError,
        domain.EmailTaken: EmailTakenError,
        domain.InvalidCredentials: InvalidCredentialsError,
        domain.AccountUnavailable: AccountUnavailableError,
        domain.DuplicateClientOrderId: DuplicateClientOrderIdError,
        domain.MarketUnavailable: MarketUnavailableError,
        domain.LimitExceeded: LimitExceededError,
        domain.OrderNotOpen: OrderNotOpenError,
        domain.InvalidSecondFactor: InvalidSecondFactorError,
    }
    return simple[type(exc)](code=code, message=exc.message)  # type: ignore[call-arg]
