"""Expected failures, named as facts. The API maps each to a typed GraphQL error by its code."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the client can act on. `code` is stable and part of the API contract."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "VALIDATION_ERROR"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"

    def __init__(self, asset: str) -> None:
        super().__init__(f"insufficient {asset} balance")
        self.asset = asset


class NotFound(DomainError):
    code = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__("this idempotency key was already used with different input")


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"

    def __init__(self) -> None:
        super().__init__("an account with this email already exists")


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__("email or password is wrong")


class AccountUnavailable(DomainError):
    code = "ACCOUNT_UNAVAILABLE"


class DuplicateClientOrderId(DomainError):
    code = "DUPLICATE_CLIENT_ORDER_ID"

    def __init__(self) -> None:
        super().__init__("this clientOrderId was already used for a different order")


class MarketUnavailable(DomainError):
    """The market's status does not accept this (e.g. CANCEL_ONLY, DISABLED, POST_ONLY)."""

    code = "MARKET_UNAVAILABLE"


class LimitExceeded(DomainError):
    """Too many open orders or stop orders, or the market's backlog is full."""

    code = "LIMIT_EXCEEDED"


class OrderNotOpen(DomainError):
    code = "ORDER_NOT_OPEN"


class Unauthenticated(Exception):
    """Raised by permission checks; surfaces as a top-level error with code UNAUTHENTICATED."""


class Forbidden(Exception):
    """Raised by permission checks; surfaces as a top-level error with code FORBIDDEN."""


class SecondFactorRequired(DomainError):
    """Two-factor authentication is enabled (or this action always needs it) and no proof came."""

    code = "SECOND_FACTOR_REQUIRED"

    def __init__(self, message: str, methods: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.methods = methods


class InvalidSecondFactor(DomainError):
    """The code is wrong, expired, or was already used."""

    code = "INVALID_SECOND_FACTOR"


class LoginLocked(DomainError):
    """Too many failed logins for this account or from this address: wait, then try again."""

    code = "LOGIN_LOCKED"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(
            message or f"too many failed logins; try again in {retry_after_seconds} seconds"
        )
        self.retry_after_seconds = retry_after_seconds
