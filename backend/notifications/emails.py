"""The emails we send. Every one opens with the user's anti-phishing code, so a message without
the right code is not from us."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def anti_phishing_line(code: str | None) -> str:
    if code:
        return f"Anti-phishing code: {code}"
    return (
        "Anti-phishing code: not set. Set one in your security settings: every email from us"
        " will show it, and an email without it is not from us."
    )


def login_notice(code: str | None, when: datetime, ip: str | None, device: str) -> Email:
    body = "\n".join(
        [
            anti_phishing_line(code),
            "",
            "Your account was signed in to from a new device or network.",
            "",
            f"Time: {when.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"IP address: {ip or 'unknown'}",
            f"Device: {device}",
            "",
            "If this was you, there is nothing to do.",
            "If it was not, change your password now and revoke the session under Security >"
            " Sessions.",
        ]
    )
    return Email("New sign-in to your account", body + "\n")
