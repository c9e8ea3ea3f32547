"""Print the served schema as SDL (`python -m backend.api.export_schema`)."""

from __future__ import annotations

from backend.api.schema import build_schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
