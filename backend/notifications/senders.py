"""Where emails go: an SMTP server (production) or .eml files in the data folder (development)."""

from __future__ import annotations

import asyncio
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from backend.settings import Settings

SECURITY_MODES = ("none", "starttls", "tls")


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver or raise; the outbox retries whatever raises."""


class SmtpEmailSender:
    def __init__(self, settings: Settings) -> None:
        if settings.smtp_security not in SECURITY_MODES:
            raise ValueError(f"EXCHANGE_SMTP_SECURITY must be one of {SECURITY_MODES}")
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
        )


class FileEmailSender:
    """Writes each message to `<directory>/<Message-ID>.eml`, openable in any mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        name = re.sub(r"[^A-Za-z0-9.@-]", "_", str(message["Message-ID"] or "message"))
        data = message.as_bytes(policy=email.policy.SMTP)
        await asyncio.to_thread(self._write, self.directory / f"{name}.eml", data)

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)  # readers never see half a message


def sender_for(settings: Settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SmtpEmailSender(settings)
    if settings.email_backend == "file":
        return FileEmailSender(settings.data_dir / "mail")
    raise ValueError("EXCHANGE_EMAIL_BACKEND must be 'file' or 'smtp'")
