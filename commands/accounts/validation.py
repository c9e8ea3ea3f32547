"""Input rules for emails and passwords."""

from __future__ import annotations

import re

from backend.domain.errors import InvalidInput

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidInput("email", "email is not a valid address")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", f"password must have at most {MAX_PASSWORD} characters")
    return password
