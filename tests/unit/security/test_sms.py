"""The SMS providers: the development file outbox, and the Twilio provider against a local fake
of Twilio's HTTP API."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest

from backend.settings import Settings
from backend.sms import FileSms, SmsDeliveryFailed, TwilioSms, sms_sender_for
from tests.fake_twilio import running_fake_twilio


async def test_file_provider_appends_to_the_data_folder(tmp_path: Path) -> None:
    # given
    sender = sms_sender_for(replace(Settings(), data_dir=tmp_path))
    # when
    await sender.send("+447700900123", "first")
    await sender.send("+447700900124", "second")
    # then
    assert isinstance(sender, FileSms)
    lines = [json.loads(line) for line in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert [(m["to"], m["body"]) for m in lines] == [
        ("+447700900123", "first"),
        ("+447700900124", "second"),
    ]


async def test_twilio_provider_posts_the_message_with_basic_auth() -> None:
    with running_fake_twilio() as fake:
        # given
        sender = TwilioSms(fake.base_url, fake.sid, fake.token, fake.from_number)
        # when
        await sender.send("+447700900123", "Exchange code: 123456")
        # then
        [message] = fake.received
        assert message.path == f"/2010-04-01/Accounts/{fake.sid}/Messages.json"
        expected = base64.b64encode(f"{fake.sid}:{fake.token}".encode()).decode()
        assert message.authorization == f"Basic {expected}"
        assert message.content_type == "application/x-www-form-urlencoded"
        assert message.form == {
            "To": ["+447700900123"],
            "From": [fake.from_number],
            "Body": ["Exchange code: 123456"],
        }


async def test_twilio_provider_reports_a_refusal() -> None:
    with running_fake_twilio() as fake:
        # given a wrong token
        sender = TwilioSms(fake.base_url, fake.sid, "wrong-token", fake.from_number)
        # when / then
        with pytest.raises(SmsDeliveryFailed, match="401"):
            await sender.send("+447700900123", "hello")


async def test_twilio_provider_reports_an_unreachable_server() -> None:
    with running_fake_twilio() as fake:
        base_url = fake.base_url
    # given the server is gone
    sender = TwilioSms(base_url, "AC1", "token", "+15005550006")
    # when / then
    with pytest.raises(SmsDeliveryFailed, match="could not be reached"):
        await sender.send("+447700900123", "hello")


@pytest.mark.parametrize(
    "settings",
    [
        replace(Settings(), sms_provider="carrier-pigeon"),
        replace(Settings(), sms_provider="twilio"),  # no credentials
        replace(
            Settings(),
            sms_provider="twilio",
            twilio_base_url="file:///etc/passwd",
            twilio_account_sid="AC1",
            twilio_auth_token="t",
            twilio_from_number="+15005550006",
        ),
    ],
)
def test_misconfigured_provider_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError):
        sms_sender_for(settings)
