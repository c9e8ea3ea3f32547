"""RFC 6238 step handling: the ±1 step window, and replay refused by the last accepted step."""

from __future__ import annotations

import base64

import pyotp
import pytest

from backend.security.totp import (
    TotpRejection,
    accepted_step,
    is_well_formed,
    new_secret,
    provisioning_uri,
)

# RFC 6238 appendix B's SHA-1 secret, "12345678901234567890", in base32.
SECRET = base64.b32encode(b"12345678901234567890").decode()
T = 1_700_000_010  # inside step 56_666_667 (30-second steps)
STEP = T // 30


def code_at(seconds: int) -> str:
    return pyotp.TOTP(SECRET).at(seconds)


@pytest.mark.parametrize(
    ("at", "reference"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_rfc_6238_reference_vectors(at: int, reference: str) -> None:
    # when (the appendix lists 8 digits; a 6-digit code is the last six)
    step = accepted_step(SECRET, reference[-6:], at, None)
    # then
    assert step == at // 30


def test_current_step_is_accepted() -> None:
    # when
    step = accepted_step(SECRET, code_at(T), T, None)
    # then
    assert step == STEP


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_of_drift_either_side_is_accepted(offset: int) -> None:
    # when
    step = accepted_step(SECRET, code_at(T + 30 * offset), T, None)
    # then
    assert step == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, 10])
def test_codes_outside_the_window_are_wrong(offset: int) -> None:
    # when
    result = accepted_step(SECRET, code_at(T + 30 * offset), T, None)
    # then
    assert result is TotpRejection.WRONG


def test_the_same_code_is_refused_the_second_time() -> None:
    # given
    first = accepted_step(SECRET, code_at(T), T, None)
    assert isinstance(first, int)
    # when
    again = accepted_step(SECRET, code_at(T), T + 5, first)
    # then
    assert again is TotpRejection.REUSED


def test_an_earlier_step_is_refused_after_a_later_one() -> None:
    # given the code of the next step was accepted (drift +1)
    later = accepted_step(SECRET, code_at(T + 30), T, None)
    assert later == STEP + 1
    # when the current step's (still inside the window) comes next
    earlier = accepted_step(SECRET, code_at(T), T, later)
    # then
    assert earlier is TotpRejection.REUSED


def test_a_later_step_is_accepted_after_an_earlier_one() -> None:
    # when
    step = accepted_step(SECRET, code_at(T + 30), T + 30, STEP)
    # then
    assert step == STEP + 1


def test_a_wrong_code_is_wrong_not_reused() -> None:
    # given
    wrong = f"{(int(code_at(T)) + 1) % 10**6:06d}"
    # when
    result = accepted_step(SECRET, wrong, T, STEP - 5)
    # then
    assert result is TotpRejection.WRONG


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", " 123456", "١٢٣٤٥٦"])
def test_malformed_codes(code: str) -> None:
    assert not is_well_formed(code)


def test_provisioning_uri_round_trips_through_pyotp() -> None:
    # given
    secret = new_secret()
    # when
    uri = provisioning_uri(secret, "alice@example.com", "Exchange")
    parsed = pyotp.parse_uri(uri)
    # then
    assert uri.startswith("otpauth://totp/Exchange:alice%40example.com?")
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.issuer == "Exchange"
    assert accepted_step(secret, parsed.at(T), T, None) == STEP
