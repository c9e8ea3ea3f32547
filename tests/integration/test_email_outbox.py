"""The outbox drain: delivery marks a row sent; a failing sender retries with backoff and
gives up after the last attempt; the development sink writes .eml files. On a database of its
own: the session server's worker drains the shared one."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import make_engine
from backend.db.login_tables import email_outbox
from backend.notifications.outbox import backoff_seconds, drain_once
from backend.notifications.senders import FileEmailSender
from backend.settings import Settings


@pytest.fixture
async def engine(isolated_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(isolated_settings, pool_size=2)
    yield engine
    await engine.dispose()


class FailingSender:
    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: EmailMessage) -> None:
        self.calls += 1
        raise ConnectionRefusedError("SMTP server down")


async def queue_email(engine: AsyncEngine) -> uuid.UUID:
    email_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            email_outbox.insert().values(
                id=email_id,
                kind="test",
                to_address=f"{email_id.hex[:8]}@example.com",
                subject="Hello",
                body="Anti-phishing code: Test1234\n\nHi.\n",
            )
        )
    return email_id


async def row(engine: AsyncEngine, email_id: uuid.UUID) -> dict[str, object]:
    async with engine.connect() as conn:
        found = (
            await conn.execute(select(email_outbox).where(email_outbox.c.id == email_id))
        ).one()
    return dict(found._mapping)


async def make_due(engine: AsyncEngine, email_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(email_outbox)
            .where(email_outbox.c.id == email_id)
            .values(next_attempt_at=email_outbox.c.created_at)
        )


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(30) == 3600


async def test_file_sink_delivers_and_marks_sent(engine: AsyncEngine, tmp_path: Path) -> None:
    # given
    email_id = await queue_email(engine)
    # when
    sent = await drain_once(engine, FileEmailSender(tmp_path), "Exchange <no-reply@x.test>", 8)
    # then
    stored = await row(engine, email_id)
    assert (sent, stored["status"], stored["attempts"]) == (1, "sent", 1)
    files = [p for p in tmp_path.glob("*.eml") if email_id.hex in p.name]
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Hello"
    assert "Anti-phishing code: Test1234" in parsed.get_content()  # type: ignore[attr-defined]


async def test_failures_retry_with_backoff_then_give_up(engine: AsyncEngine) -> None:
    # given
    email_id = await queue_email(engine)
    sender = FailingSender()
    # when
    seen = []
    for _ in range(3):
        await make_due(engine, email_id)
        await drain_once(engine, sender, "Exchange <no-reply@x.test>", 3)
        stored = await row(engine, email_id)
        seen.append((stored["status"], stored["attempts"]))
        if stored["status"] == "pending":
            wait = stored["next_attempt_at"] - stored["created_at"]  # type: ignore[operator]
            assert wait.total_seconds() >= backoff_seconds(int(stored["attempts"])) - 1  # type: ignore[call-overload]
    # then
    assert seen == [("pending", 1), ("pending", 2), ("failed", 3)]
    assert "SMTP server down" in str((await row(engine, email_id))["last_error"])
