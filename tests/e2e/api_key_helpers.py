"""Bots' side of API keys: creating one, and signing requests the Binance way.

The signature is computed here with hmac directly, not with the server's helper, so the tests
pin the wire format: hex HMAC-SHA256(secret, X-Timestamp + raw body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from tests.graphql_client import GraphQLClient, operation


def now_ms() -> int:
    return int(time.time() * 1000)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + body, hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str,
    secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    recv_window: int | None = None,
) -> dict[str, str]:
    ts = now_ms() if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "x-api-key": key_id,
        "x-timestamp": str(ts),
        "x-signature": signature(secret, ts, body),
    }
    if recv_window is not None:
        headers["x-recv-window"] = str(recv_window)
    return headers


def body_of(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


async def signed_post(
    http: httpx.AsyncClient,
    key_id: str,
    secret: str,
    query: str,
    variables: dict[str, Any] | None = None,
    **options: Any,
) -> httpx.Response:
    body = body_of(query, variables)
    return await http.post(
        "/graphql", content=body, headers=signed_headers(key_id, secret, body, **options)
    )


async def run_signed(
    http: httpx.AsyncClient,
    key_id: str,
    secret: str,
    name: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A stored operation signed with the key; returns the whole response body."""
    response = await signed_post(http, key_id, secret, operation(name), variables)
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def create_key(
    client: GraphQLClient,
    token: str,
    scopes: list[str],
    *,
    label: str = "bot",
    ip_allowlist: list[str] | None = None,
) -> tuple[str, str]:
    """A new key of the token's user; returns (key id, secret)."""
    data = await client.run(
        "api_keys/create_api_key",
        {"input": {"label": label, "scopes": scopes, "ipAllowlist": ip_allowlist or []}},
        token=token,
    )
    payload = data["createApiKey"]
    assert payload["__typename"] == "CreatedApiKeyPayload", payload
    return payload["apiKey"]["id"], payload["secret"]


def error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None
