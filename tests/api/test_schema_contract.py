"""graphql/schema.graphql is the served schema, and every stored operation is valid against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from backend.api.export_schema import schema_sdl
from backend.api.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = sorted((ROOT / "graphql" / "operations").rglob("*.graphql"))


def test_committed_sdl_matches_served_schema() -> None:
    committed = (ROOT / "graphql" / "schema.graphql").read_text()
    assert committed == schema_sdl(), (
        "schema drifted: run"
        " `.venv/bin/python -m backend.api.export_schema > graphql/schema.graphql`"
    )


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: str(p.relative_to(ROOT / "graphql")))
def test_operation_is_valid(path: Path) -> None:
    schema = build_schema()._schema
    assert validate(schema, parse(path.read_text())) == []
