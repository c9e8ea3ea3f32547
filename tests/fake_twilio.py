"""A local stand-in for Twilio's Messages API, speaking its wire protocol over real HTTP:
POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth, form fields; 201 with a JSON body."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SID = "AC" + "0" * 30
TOKEN = "fake-twilio-auth-token"
FROM = "+15005550006"


@dataclass(frozen=True)
class ReceivedMessage:
    path: str
    authorization: str
    content_type: str
    form: dict[str, list[str]]

    @property
    def to(self) -> str:
        return self.form["To"][0]

    @property
    def body(self) -> str:
        return self.form["Body"][0]


@dataclass
class FakeTwilio:
    base_url: str
    sid: str = SID
    token: str = TOKEN
    from_number: str = FROM
    received: list[ReceivedMessage] = field(default_factory=list)
    # Answer every request with this status instead (to test failures).
    fail_with: int | None = None

    def messages_to(self, phone: str) -> list[ReceivedMessage]:
        return [m for m in self.received if m.form.get("To") == [phone]]

    def wait_for_message(self, phone: str, count: int, timeout: float = 10) -> ReceivedMessage:
        """The `count`-th message to `phone` (1-based), waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages_to(phone)
            if len(messages) >= count:
                return messages[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no message #{count} to {phone}; got {self.received}")

    def env(self) -> dict[str, str]:
        """The server settings that point the Twilio provider here."""
        return {
            "EXCHANGE_SMS_PROVIDER": "twilio",
            "EXCHANGE_TWILIO_BASE_URL": self.base_url,
            "EXCHANGE_TWILIO_ACCOUNT_SID": self.sid,
            "EXCHANGE_TWILIO_AUTH_TOKEN": self.token,
            "EXCHANGE_TWILIO_FROM_NUMBER": self.from_number,
        }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{fake.sid}:{fake.token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            message = ReceivedMessage(
                path=self.path,
                authorization=self.headers.get("Authorization", ""),
                content_type=self.headers.get("Content-Type", ""),
                form=urllib.parse.parse_qs(raw),
            )
            fake.received.append(message)
            if fake.fail_with is not None:
                self._answer(fake.fail_with, {"code": 20500, "message": "failure on demand"})
            elif message.authorization != expected_auth:
                self._answer(401, {"code": 20003, "message": "Authenticate"})
            elif self.path != f"/2010-04-01/Accounts/{fake.sid}/Messages.json":
                self._answer(404, {"code": 20404, "message": "Not found"})
            else:
                self._answer(
                    201,
                    {
                        "sid": "SM" + uuid.uuid4().hex,
                        "status": "queued",
                        "to": message.to,
                        "from": message.form["From"][0],
                        "body": message.body,
                    },
                )

        def _answer(self, status: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    return Handler


@contextmanager
def running_fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
