"""Rate limits through a dedicated server with small limits: bursts from a second process get
HTTP 429 with Retry-After and a RATE_LIMITED body, while other clients are unaffected; orders per
10 seconds per account, and the market-maker tier an admin grants.

Each test speaks from its own loopback addresses (127.0.0.x), so per-IP budgets do not mix.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.e2e.api_key_helpers import run_signed
from tests.e2e.own_server import api_server, client_from
from tests.graphql_client import GraphQLClient, operation

LIMITS = {
    "EXCHANGE_RATE_LIMIT_IP_PER_MINUTE": "60",
    "EXCHANGE_RATE_LIMIT_USER_PER_MINUTE": "40",
    "EXCHANGE_RATE_LIMIT_API_KEY_PER_MINUTE": "20",
    "EXCHANGE_RATE_LIMIT_ORDERS_PER_10S": "5",
    "EXCHANGE_RATE_LIMIT_MARKET_MAKER_FACTOR": "10",
}


@pytest.fixture(scope="module")
def limited(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("limited")
    namespace = f"limited_{uuid.uuid4().hex[:10]}"  # its own buckets
    with api_server(settings, logs, EXCHANGE_QUEUE_NAMESPACE=namespace, **LIMITS) as base:
        yield base


def burst(base: str, count: int, address: str, *key: str) -> dict[str, Any]:
    """Runs the flood in a second process and returns its summary."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.burst_client", base, str(count), address, *key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


async def signed_up(http: httpx.AsyncClient) -> tuple[GraphQLClient, str]:
    client = GraphQLClient(http)
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"input": {"email": email, "password": "correct-horse-9"}}
    await client.run("accounts/register", credentials)
    token: str = (await client.run("accounts/login", credentials))["login"]["token"]
    return client, token


def assert_rate_limited(summary: dict[str, Any], limit: str) -> None:
    assert summary["statuses"].get("429", 0) > 0, summary
    limited = summary["limited"]
    assert int(limited["retry_after"]) >= 1
    error = limited["body"]["errors"][0]
    assert limited["body"]["data"] is None
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"] == limit
    assert error["extensions"]["retryAfter"] == int(limited["retry_after"])


async def test_an_ip_burst_is_limited_and_other_ips_are_not(limited: str) -> None:
    # when: a second process floods from 127.0.0.20
    summary = burst(limited, 120, "127.0.0.20")
    # then
    assert_rate_limited(summary, "ip")
    # the bucket (60) and what refilled meanwhile (1 a second)
    assert summary["statuses"]["200"] <= 60 + summary["seconds"] + 1
    async with client_from("127.0.0.21", limited) as http:
        response = await http.post("/graphql", json={"query": "{ markets { symbol } }"})
    assert response.status_code == 200 and "errors" not in response.json()


async def test_an_api_key_burst_is_limited_per_key(limited: str) -> None:
    # given
    async with client_from("127.0.0.22", limited) as http:
        client, token = await signed_up(http)
        created = await client.run(
            "api_keys/create_api_key",
            {"input": {"label": "flood", "scopes": ["READ"]}},
            token=token,
        )
        key_id = created["createApiKey"]["apiKey"]["id"]
        secret = created["createApiKey"]["secret"]
    # when: the key floods from its own IP, below the IP budget but above the key's
    summary = burst(limited, 45, "127.0.0.23", key_id, secret)
    # then
    assert_rate_limited(summary, "api_key")
    assert summary["statuses"]["200"] <= 20 + summary["seconds"] / 3 + 1
    async with client_from("127.0.0.24", limited) as http:
        other, other_token = await signed_up(http)
        me = await other.run("accounts/me", token=other_token)
    assert me["me"]["email"].endswith("@example.com")


async def place(client: GraphQLClient, token: str) -> httpx.Response:
    variables = {
        "input": {
            "market": "NO-SUCH",
            "side": "BUY",
            "type": "LIMIT",
            "price": "1",
            "quantity": "1",
        }
    }
    return await client.http.post(
        "/graphql",
        json={"query": operation("spot/place_order"), "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )


async def test_orders_per_ten_seconds_per_account(limited: str) -> None:
    # given
    async with client_from("127.0.0.25", limited) as http:
        client, token = await signed_up(http)
        # when
        responses = [await place(client, token) for _ in range(6)]
        cancel = await client.raw(
            'mutation { cancelOrder(input: {orderId: "1"}) { __typename } }',
            token=token,
        )
    # then: five orders pass the limit (and fail on the unknown market), the sixth is refused
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert all(
        r.json()["data"]["placeOrder"]["__typename"] == "NotFoundError" for r in responses[:5]
    )
    last = responses[-1]
    error = last.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"] == "orders"
    assert int(last.headers["retry-after"]) == error["extensions"]["retryAfter"] >= 1
    assert "errors" not in cancel  # canceling is not placing


async def test_a_market_maker_key_gets_the_higher_tier(limited: str) -> None:
    # given: a TRADE key an admin moved into the market-maker tier
    async with client_from("127.0.0.26", limited) as http:
        client, token = await signed_up(http)
        created = await client.run(
            "api_keys/create_api_key",
            {"input": {"label": "mm", "scopes": ["TRADE"]}},
            token=token,
        )
        key_id = created["createApiKey"]["apiKey"]["id"]
        secret = created["createApiKey"]["secret"]
        admin = await client.run(
            "accounts/login", {"input": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}}
        )
        tiered = await client.run(
            "admin/set_api_key_market_maker",
            {"input": {"apiKeyId": key_id, "marketMaker": True, "reason": "MM program"}},
            token=admin["login"]["token"],
        )
        assert tiered["adminSetApiKeyMarketMaker"]["marketMaker"] is True
    # when: more orders in 10 s than the normal tier allows
    async with client_from("127.0.0.27", limited) as http:
        variables = {
            "input": {
                "market": "NO-SUCH",
                "side": "SELL",
                "type": "LIMIT",
                "price": "1",
                "quantity": "1",
            }
        }
        bodies = [
            await run_signed(http, key_id, secret, "spot/place_order", variables) for _ in range(12)
        ]
    # then
    assert [b["_status"] for b in bodies] == [200] * 12
    assert all(b["data"]["placeOrder"]["__typename"] == "NotFoundError" for b in bodies)
