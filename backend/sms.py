"""Sending text messages: a provider interface, a Twilio-style HTTP provider, and a development
provider that writes each message to the data folder (the default, so nothing leaves the machine).
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from backend.settings import Settings

TIMEOUT_SECONDS = 10


class SmsDeliveryFailed(Exception):
    """The provider refused the message or could not be reached."""


class SmsSender(Protocol):
    async def send(self, to: str, body: str) -> None: ...


@dataclass(frozen=True)
class FileSms:
    """Appends one JSON line per message to `<data dir>/sms-outbox.jsonl`."""

    path: Path

    async def send(self, to: str, body: str) -> None:
        line = json.dumps({"to": to, "body": body, "sent_at": datetime.now(UTC).isoformat()})

        def append() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                out.write(line + "\n")

        await asyncio.to_thread(append)


@dataclass(frozen=True)
class TwilioSms:
    """Twilio's Messages API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json, HTTP basic
    auth `sid:token`, form fields To, From, Body; 201 Created on success."""

    base_url: str
    account_sid: str
    auth_token: str
    from_number: str

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ValueError("the SMS provider's base URL must be http(s)")
        if not (self.account_sid and self.auth_token and self.from_number):
            raise ValueError("the Twilio provider needs an account sid, auth token and from-number")

    @property
    def url(self) -> str:
        sid = urllib.parse.quote(self.account_sid, safe="")
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    async def send(self, to: str, body: str) -> None:
        await asyncio.to_thread(self._post, to, body)

    def _post(self, to: str, body: str) -> None:
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __post_init__
            self.url,
            data=urllib.parse.urlencode(
                {"To": to, "From": self.from_number, "Body": body}
            ).encode(),
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsDeliveryFailed(f"the SMS provider answered {exc.code}") from exc
        except OSError as exc:
            raise SmsDeliveryFailed(f"the SMS provider could not be reached: {exc}") from exc
        if status not in (200, 201):
            raise SmsDeliveryFailed(f"the SMS provider answered {status}")


def sms_sender_for(settings: Settings) -> SmsSender:
    if settings.sms_provider == "twilio":
        return TwilioSms(
            settings.twilio_base_url,
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
        )
    if settings.sms_provider == "file":
        return FileSms(settings.data_dir / "sms-outbox.jsonl")
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r} (file or twilio)")
