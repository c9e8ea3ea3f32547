"""Which failures are outages (retry) and which are bugs (masked with a request id)."""

from __future__ import annotations

import psycopg
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from backend.api.masking import is_outage


def test_unreachable_database_or_redis_is_an_outage() -> None:
    wrapped = OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))
    assert is_outage(wrapped)
    assert is_outage(RedisConnectionError("Connection refused"))


def test_a_bug_is_not_an_outage() -> None:
    assert not is_outage(KeyError("x"))
    assert not is_outage(None)
