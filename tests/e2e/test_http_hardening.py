"""GraphQL and HTTP hardening through real servers: security headers, CORS allowlist, body size
limit, query cost limit, and introspection and GraphiQL switched off for production."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from backend.settings import Settings
from tests.e2e.own_server import api_server

ORIGIN = "https://app.example.com"
PRODUCTION = {
    "EXCHANGE_INTROSPECTION": "off",
    "EXCHANGE_GRAPHIQL": "off",
    "EXCHANGE_CORS_ORIGINS": f"{ORIGIN}, https://admin.example.com",
    "EXCHANGE_HSTS_SECONDS": "31536000",
    "EXCHANGE_MAX_REQUEST_BYTES": "4096",
}
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture(scope="module")
def production(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("production")
    namespace = f"production_{uuid.uuid4().hex[:10]}"
    with api_server(settings, logs, EXCHANGE_QUEUE_NAMESPACE=namespace, **PRODUCTION) as base:
        yield base


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_introspection_and_graphiql_are_off_in_production(production: str) -> None:
    # when
    introspection = httpx.post(f"{production}/graphql", json={"query": INTROSPECTION})
    typename = httpx.post(f"{production}/graphql", json={"query": "{ __typename }"})
    page = httpx.get(f"{production}/graphql", headers={"accept": "text/html"})
    # then
    assert introspection.json()["data"] is None
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert typename.json() == {"data": {"__typename": "Query"}}
    assert not page.headers.get("content-type", "").startswith("text/html")
    assert "graphiql" not in page.text.lower()


def test_introspection_and_graphiql_are_on_by_default(server: str) -> None:
    # when
    introspection = httpx.post(f"{server}/graphql", json={"query": INTROSPECTION})
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    # then: the page loads, under a CSP that lets GraphiQL's scripts run
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    csp = page.headers["content-security-policy"]
    assert "https://unpkg.com" in csp and "frame-ancestors 'none'" in csp
    assert_security_headers(page)


def test_security_headers_on_every_response(production: str, server: str) -> None:
    # when
    responses = [
        httpx.post(f"{production}/graphql", json={"query": "{ __typename }"}),
        httpx.get(f"{production}/healthz"),
        httpx.post(f"{production}/graphql", content=b"x" * 5000),
        httpx.post(f"{server}/graphql", json={"query": "{ __typename }"}),
    ]
    # then
    for response in responses:
        assert_security_headers(response)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    hsts = "max-age=31536000; includeSubDomains"
    assert [r.headers.get("strict-transport-security") for r in responses] == [hsts] * 3 + [None]


def test_oversized_bodies_are_refused_with_413(production: str) -> None:
    # given
    padding = " " * 5000
    # when
    declared = httpx.post(f"{production}/graphql", json={"query": "{ __typename }" + padding})

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"query": "{ __typename }'
        yield padding.encode()
        yield b'"}'

    streamed = httpx.post(
        f"{production}/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    small = httpx.post(f"{production}/graphql", json={"query": "{ __typename }"})
    # then
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert small.status_code == 200


def test_cors_allows_only_the_configured_origins(production: str, server: str) -> None:
    def preflight(base: str, origin: str) -> httpx.Response:
        return httpx.options(
            f"{base}/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, x-api-key, x-signature",
            },
        )

    # when
    allowed = preflight(production, ORIGIN)
    refused = preflight(production, "https://evil.example")
    unconfigured = preflight(server, ORIGIN)
    simple = httpx.post(
        f"{production}/graphql", json={"query": "{ __typename }"}, headers={"origin": ORIGIN}
    )
    # then
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-signature" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in unconfigured.headers
    assert simple.headers["access-control-allow-origin"] == ORIGIN


def test_aliases_tokens_and_cost_are_limited(server: str) -> None:
    def post(query: str) -> dict[str, object]:
        body: dict[str, object] = httpx.post(f"{server}/graphql", json={"query": query}).json()
        return body

    deep = "{ adminUsers { edges { node { ledgerEntries { edges { node { " + ("asset } } } } } } }")
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    tokens = "{ " + " ".join("__typename" for _ in range(2100)) + " }"
    costly = (
        "{ adminUsers(first: 100) { edges { node { ledgerEntries(first: 100) {"
        " edges { node { asset amount kind } } } } } } }"
    )
    # when
    results = {
        name: post(q) for name, q in [("aliases", aliases), ("tokens", tokens), ("cost", costly)]
    }
    fine = post(deep)
    # then
    assert "aliases" in str(results["aliases"]["errors"]).lower()
    assert "token" in str(results["tokens"]["errors"]).lower()
    cost_error = results["cost"]["errors"][0]  # type: ignore[index]
    assert cost_error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert cost_error["extensions"]["cost"] > cost_error["extensions"]["limit"]
    assert results["cost"]["data"] is None
    # a modest nested query passes validation (and then needs an admin)
    assert fine["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
