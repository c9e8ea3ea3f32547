"""Anchors: the audit chain's head hash exported outside the database.

Someone who can rewrite the whole `audit_log` table can also recompute every hash; the anchors,
kept elsewhere, are what such a rewrite cannot match. An `AnchorSink` is anything that stores
anchors and gives them back (a file on another volume, a WORM bucket, a transparency log); the
default is one JSON-lines file per database, `{"id": ..., "hash": ..., "at": ...}` per line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    id: int  # the chain's last record when exported
    hash: str  # that record's hash
    at: str  # when it was exported (UTC, ISO 8601)


class AnchorSink(Protocol):
    def publish(self, anchor: Anchor) -> None: ...

    def anchors(self) -> list[Anchor]:
        """Every anchor published so far, oldest first."""
        ...


class FileAnchorSink:
    """Appends one JSON line per anchor, flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return f"anchors in {self.path}"

    def publish(self, anchor: Anchor) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"id": anchor.id, "hash": anchor.hash, "at": anchor.at}) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def anchors(self) -> list[Anchor]:
        if not self.path.exists():
            return []
        found = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                found.append(Anchor(int(raw["id"]), str(raw["hash"]), str(raw["at"])))
            except (ValueError, KeyError, TypeError):
                # A damaged anchor file is itself a finding: refuse rather than skip.
                raise ValueError(f"{self.path}:{number}: not an anchor line") from None
        return found


def anchor_dir(settings: Settings) -> Path:
    return settings.audit_anchor_dir or settings.data_dir / "audit-anchors"


def anchor_sink(settings: Settings, database: str) -> AnchorSink:
    """The configured sink for one database's chain (one file per database name)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", database)
    return FileAnchorSink(anchor_dir(settings) / f"{safe}.jsonl")


def new_anchor(last_id: int, last_hash: str) -> Anchor:
    return Anchor(last_id, last_hash, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
