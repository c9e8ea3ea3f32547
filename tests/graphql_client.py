"""Runs the operation documents in graphql/operations against a live server over HTTP."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx

OPERATIONS = Path(__file__).resolve().parents[1] / "graphql" / "operations"


@cache
def operation(name: str) -> str:
    """`area/name` -> the document in graphql/operations/area/name.graphql."""
    return (OPERATIONS / f"{name}.graphql").read_text()


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def run(
        self, name: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Execute a stored operation; asserts there are no top-level errors."""
        body = await self.raw(operation(name), variables, token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data
