"""The audit log through the real server: what admin actions record, browsing it, verifying it
(a row tampered with by a superuser is reported), the worker's anchors, and the services' role."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import psycopg
import pytest

from backend.db.engine import libpq_url
from backend.settings import Settings
from tests.conftest import create_asset, fund
from tests.graphql_client import GraphQLClient, operation


def _owner(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_url(settings.database_url), autocommit=True)


async def test_an_admin_action_is_recorded_with_who_what_where_and_why(
    client: GraphQLClient, admin_token: str, user: tuple[str, str]
) -> None:
    # given
    user_id, _ = user
    asset = await create_asset(client, admin_token, 2)
    me = await client.run("accounts/me", token=admin_token)
    # when
    await fund(client, admin_token, user_id, asset, "12.5")
    page = await client.run(
        "admin/audit_log", {"first": 1, "action": "balance.adjust"}, token=admin_token
    )
    # then
    record = page["adminAuditLog"]["edges"][0]["node"]
    assert record["actorId"] == me["me"]["id"]
    assert (record["action"], record["target"]) == ("balance.adjust", f"user:{user_id}")
    assert record["reason"] == "test funding"
    assert json.loads(record["after"])["amount"] == "12.5"
    assert record["ip"] == "127.0.0.1" and record["requestId"]
    assert len(record["hash"]) == 64 and len(record["prevHash"]) == 64


async def test_the_log_pages_newest_first_and_filters(
    client: GraphQLClient, admin_token: str
) -> None:
    # given
    for _ in range(3):
        await create_asset(client, admin_token)
    # when
    first = await client.run(
        "admin/audit_log", {"first": 2, "action": "asset.create"}, token=admin_token
    )
    cursor = first["adminAuditLog"]["pageInfo"]["endCursor"]
    second = await client.run(
        "admin/audit_log",
        {"first": 2, "after": cursor, "action": "asset.create"},
        token=admin_token,
    )
    nobody = await client.run(
        "admin/audit_log", {"first": 5, "actorId": str(uuid.uuid4())}, token=admin_token
    )
    # then
    ids = [int(e["node"]["id"]) for p in (first, second) for e in p["adminAuditLog"]["edges"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    assert first["adminAuditLog"]["pageInfo"]["hasNextPage"] is True
    assert {e["node"]["action"] for p in (first, second) for e in p["adminAuditLog"]["edges"]} == {
        "asset.create"
    }
    assert nobody["adminAuditLog"]["edges"] == []


@pytest.mark.parametrize(
    "variables",
    [{"first": 0}, {"first": 101}, {"after": "not a cursor"}, {"actorId": "not-a-uuid"}],
)
async def test_bad_paging_or_filter_input_is_a_validation_error(
    client: GraphQLClient, admin_token: str, variables: dict[str, object]
) -> None:
    # when
    body = await client.raw(operation("admin/audit_log"), variables, token=admin_token)
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_verification_reports_a_row_tampered_with_by_a_superuser(
    client: GraphQLClient, admin_token: str, settings: Settings
) -> None:
    # given
    await create_asset(client, admin_token)
    healthy = await client.run("admin/verify_audit_chain", token=admin_token)
    assert healthy["adminVerifyAuditChain"]["ok"] is True, healthy
    with _owner(settings) as owner:
        row = owner.execute("SELECT id, reason FROM audit_log ORDER BY id LIMIT 1").fetchone()
        assert row is not None
        target_id, reason = row
        # when
        owner.execute("UPDATE audit_log SET reason = 'edited' WHERE id = %s", (target_id,))
        try:
            broken = await client.run("admin/verify_audit_chain", token=admin_token)
        finally:  # put it back: the rest of the session shares this database
            owner.execute("UPDATE audit_log SET reason = %s WHERE id = %s", (reason, target_id))
    # then
    report = broken["adminVerifyAuditChain"]
    assert (report["ok"], report["firstBrokenId"]) == (False, str(target_id))
    assert report["reason"] == f"row {target_id}: stored hash does not match its contents"
    again = await client.run("admin/verify_audit_chain", token=admin_token)
    assert again["adminVerifyAuditChain"]["ok"] is True


async def test_the_worker_exports_the_head_as_an_anchor(
    client: GraphQLClient, admin_token: str, settings: Settings
) -> None:
    # given
    await create_asset(client, admin_token)
    with _owner(settings) as owner:
        head = owner.execute("SELECT last_id, last_hash FROM audit_chain_head").fetchone()
        database = owner.execute("SELECT current_database()").fetchone()
    assert head is not None and database is not None
    anchors = Path(str(settings.audit_anchor_dir)) / f"{database[0]}.jsonl"
    # when: the worker exports every second in the tests
    for _ in range(100):
        lines = anchors.read_text().splitlines() if anchors.exists() else []
        if any(json.loads(line)["id"] >= head[0] for line in lines):
            break
        await asyncio.sleep(0.1)
    # then
    exported = {json.loads(line)["id"]: json.loads(line) for line in lines}
    assert exported[head[0]]["hash"] == head[1]
    assert set(exported[head[0]]) == {"id", "hash", "at"}
    report = await client.run("admin/verify_audit_chain", token=admin_token)
    assert report["adminVerifyAuditChain"]["anchorsChecked"] >= 1


async def test_every_service_process_connects_as_the_app_role(
    server: str, settings: Settings
) -> None:
    # when
    with _owner(settings) as owner:
        users = owner.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    # then: the API, the worker and the matcher (and this session's engine) only
    assert {u for (u,) in users} == {"exchange_app"}
