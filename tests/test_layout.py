"""The repository's fixed layout and its two commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fixed_layout_exists() -> None:
    for name in (
        "backend",
        "graphql",
        "commands",
        "queries",
        "projections",
        "workers",
        "alembic",
        "tests",
        "pyproject.toml",
        "README.md",
    ):
        assert (ROOT / name).exists(), name


def test_no_python_shadows_graphql_core_or_alembic() -> None:
    assert not list((ROOT / "graphql").rglob("*.py"))
    assert not (ROOT / "alembic" / "__init__.py").exists()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci_lines
    assert "exchange up" in commands[0]
