"""Clients that reach the server from a chosen loopback address (Linux routes all of
127.0.0.0/8 to the loopback device) and with a chosen User-Agent: a real distinct peer address,
not a header the server would have to believe."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.graphql_client import GraphQLClient

PASSWORD = "correct-horse-9"


def new_loopback_ip() -> str:
    """An address in 127.0.0.0/8 no other test uses (so per-IP counters start at zero)."""
    a, b, c = secrets.token_bytes(3)
    return f"127.{a % 254 + 1}.{b % 254 + 1}.{c % 254 + 1}"


def new_email() -> str:
    return f"login-{uuid.uuid4().hex[:12]}@example.com"


@asynccontextmanager
async def client_from(
    server: str, ip: str, user_agent: str = "exchange-tests/1.0"
) -> AsyncIterator[GraphQLClient]:
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    async with httpx.AsyncClient(
        base_url=server, transport=transport, timeout=30, headers={"user-agent": user_agent}
    ) as http:
        yield GraphQLClient(http)


async def login(client: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    data = await client.run("accounts/login", {"input": {"email": email, "password": password}})
    result: dict[str, Any] = data["login"]
    return result


async def register(client: GraphQLClient, email: str, password: str = PASSWORD) -> str:
    data = await client.run("accounts/register", {"input": {"email": email, "password": password}})
    assert data["register"]["__typename"] == "RegisterSuccess", data
    user_id: str = data["register"]["user"]["id"]
    return user_id
