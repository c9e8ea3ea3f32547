"""Liveness, readiness, metrics and request ids."""

from __future__ import annotations

import httpx


async def test_health_ready_and_metrics(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        # when
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        await http.post("/graphql", json={"query": "{ assets { code } }"})
        metrics = await http.get("/metrics")
    # then
    assert health.json() == {"status": "ok"}
    assert ready.json() == {"ready": True, "database": "ok", "redis": "ok"}
    assert 'exchange_http_requests_total{path="/graphql",status="200"}' in metrics.text


async def test_request_id_is_echoed_or_made(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        given = await http.get("/healthz", headers={"x-request-id": "trace-123"})
        made = await http.get("/healthz")
    assert given.headers["x-request-id"] == "trace-123"
    assert len(made.headers["x-request-id"]) == 32


async def test_graphiql_is_served(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
