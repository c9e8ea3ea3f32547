"""Integration fixtures: a database of its own for tests that run matchers in-process or as
subprocesses (the session server's matcher leads every market of the shared database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.settings import Settings
from tests.servers import ServerPair, unique_name


@pytest.fixture(scope="module")
def isolated_settings(servers: ServerPair, settings: Settings) -> Iterator[Settings]:
    name = unique_name("exchange_isolated")
    url = servers.create_database(name)
    yield replace(settings, database_url=url)
    servers.drop_database(name)
