"""My sessions: list, revoke one, revoke the others; revoked tokens stop at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from backend.db.login_tables import session_activity
from tests.e2e.login_helpers import client_from, login, new_email, new_loopback_ip, register
from tests.e2e.test_login_notifications import CHROME_ON_WINDOWS
from tests.graphql_client import GraphQLClient, operation


async def sessions_of(client: GraphQLClient, token: str) -> list[dict[str, Any]]:
    data = await client.run("accounts/my_sessions", token=token)
    result: list[dict[str, Any]] = data["mySessions"]
    return result


async def revoke(client: GraphQLClient, token: str, session_id: str) -> dict[str, Any]:
    data = await client.run("accounts/revoke_session", {"id": session_id}, token=token)
    result: dict[str, Any] = data["revokeSession"]
    return result


async def is_unauthenticated(client: GraphQLClient, token: str) -> bool:
    body = await client.raw(operation("accounts/me"), token=token)
    return bool(body.get("errors")) and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_my_sessions_lists_device_ip_and_current(server: str) -> None:
    # given: two sessions from two places
    email, home, phone = new_email(), new_loopback_ip(), new_loopback_ip()
    async with client_from(server, home) as client:
        await register(client, email)
        first = (await login(client, email))["token"]
    async with client_from(server, phone, CHROME_ON_WINDOWS) as client:
        second = (await login(client, email))["token"]
        # when
        listed = await sessions_of(client, second)
    # then
    assert len(listed) == 2
    by_ip = {s["ip"]: s for s in listed}
    assert by_ip[phone]["current"] is True
    assert by_ip[phone]["device"] == "Chrome on Windows"
    assert by_ip[home]["current"] is False
    assert by_ip[home]["device"] == "exchange-tests/1.0"
    assert all(s["lastSeenAt"] >= s["createdAt"] for s in listed)
    assert first != second


async def test_revoke_one_session(client: GraphQLClient) -> None:
    # given
    email = new_email()
    await register(client, email)
    keep = (await login(client, email))["token"]
    other = (await login(client, email))["token"]
    other_id = next(s["id"] for s in await sessions_of(client, other) if s["current"])
    # when
    first = await revoke(client, keep, other_id)
    again = await revoke(client, keep, other_id)
    # then
    assert first == {"__typename": "SessionRevoked", "sessionId": other_id, "revoked": True}
    assert again == {"__typename": "SessionRevoked", "sessionId": other_id, "revoked": False}
    assert await is_unauthenticated(client, other)
    assert not await is_unauthenticated(client, keep)
    assert [s["id"] for s in await sessions_of(client, keep)] != [other_id]
    assert len(await sessions_of(client, keep)) == 1


async def test_another_users_session_is_not_found_and_stays(client: GraphQLClient) -> None:
    # given
    mine, theirs = new_email(), new_email()
    await register(client, mine)
    await register(client, theirs)
    my_token = (await login(client, mine))["token"]
    their_token = (await login(client, theirs))["token"]
    their_id = (await sessions_of(client, their_token))[0]["id"]
    # when
    result = await revoke(client, my_token, their_id)
    unknown = await revoke(client, my_token, str(uuid.uuid4()))
    # then
    assert result["__typename"] == unknown["__typename"] == "NotFoundError"
    assert result["code"] == "NOT_FOUND"
    assert result["message"] == unknown["message"]
    assert not await is_unauthenticated(client, their_token)


async def test_malformed_session_id_is_a_validation_error(client: GraphQLClient) -> None:
    # given
    email = new_email()
    await register(client, email)
    token = (await login(client, email))["token"]
    # when
    result = await revoke(client, token, "not-a-session")
    # then
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "id"
    assert len(await sessions_of(client, token)) == 1


async def test_revoke_other_sessions_keeps_this_one(client: GraphQLClient) -> None:
    # given
    email = new_email()
    await register(client, email)
    tokens = [(await login(client, email))["token"] for _ in range(3)]
    # when
    data = await client.run("accounts/revoke_other_sessions", token=tokens[0])
    # then
    assert data["revokeOtherSessions"] == {"revokedCount": 2}
    assert [await is_unauthenticated(client, t) for t in tokens] == [False, True, True]
    listed = await sessions_of(client, tokens[0])
    assert len(listed) == 1
    assert listed[0]["current"] is True


async def test_revoking_the_current_session_logs_out(client: GraphQLClient) -> None:
    # given
    email = new_email()
    await register(client, email)
    token = (await login(client, email))["token"]
    current = (await sessions_of(client, token))[0]["id"]
    # when
    result = await revoke(client, token, current)
    # then
    assert result["revoked"] is True
    assert await is_unauthenticated(client, token)


async def test_session_fields_need_a_session(client: GraphQLClient) -> None:
    # when
    bodies = [
        await client.raw(operation("accounts/my_sessions")),
        await client.raw(operation("accounts/revoke_other_sessions")),
        await client.raw(operation("accounts/revoke_session"), {"id": str(uuid.uuid4())}),
    ]
    # then
    for body in bodies:
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_last_seen_is_updated_at_most_once_a_minute(
    client: GraphQLClient, engine: AsyncEngine
) -> None:
    # given: a session last seen two minutes ago
    email = new_email()
    await register(client, email)
    token = (await login(client, email))["token"]
    session_id = uuid.UUID((await sessions_of(client, token))[0]["id"])
    two_minutes_ago = datetime.now(UTC) - timedelta(minutes=2)
    async with engine.begin() as conn:
        await conn.execute(
            update(session_activity)
            .where(session_activity.c.session_id == session_id)
            .values(last_seen_at=two_minutes_ago)
        )
    # when
    touched = (await sessions_of(client, token))[0]["lastSeenAt"]
    again = (await sessions_of(client, token))[0]["lastSeenAt"]
    # then
    assert datetime.fromisoformat(touched) > two_minutes_ago + timedelta(minutes=1)
    assert again == touched


async def test_revoking_a_session_ends_its_live_subscriptions(
    client: GraphQLClient, server: str
) -> None:
    # given: a phone subscribed to its balances, and the same user on a laptop
    email = new_email()
    await register(client, email)
    phone = (await login(client, email))["token"]
    laptop = (await login(client, email))["token"]
    phone_session = next(s for s in await sessions_of(client, phone) if s["current"])["id"]
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {phone}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": operation("ledger/my_balances")}}))
        # when: the laptop revokes the phone's session
        assert (await revoke(client, laptop, phone_session))["__typename"] != "NotFoundError"
        # then: the phone's connection is closed with 4401 within a few seconds
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
