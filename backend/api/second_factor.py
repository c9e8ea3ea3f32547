"""The GraphQL input carrying a second factor, shared by every sensitive mutation."""

from __future__ import annotations

import strawberry

from commands.accounts.second_factor import SecondFactorProof


@strawberry.input(description="One second factor: a TOTP code, a recovery code or an SMS code.")
class SecondFactorInput:
    totp: str | None = strawberry.field(default=None, description="6-digit authenticator code.")
    recovery_code: str | None = strawberry.field(
        default=None, description="One of the recovery codes (each works once)."
    )
    sms_code: str | None = strawberry.field(default=None, description="Code sent by SMS.")

    def proof(self) -> SecondFactorProof:
        return SecondFactorProof(self.totp, self.recovery_code, self.sms_code)


def proof_of(value: SecondFactorInput | None) -> SecondFactorProof | None:
    return value.proof() if value is not None else None
