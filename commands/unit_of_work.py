"""One command, one transaction; side effects (publishes, queue messages) only after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

AfterCommit = Callable[[], Awaitable[None]]


@dataclass
class UnitOfWork:
    """Wraps one database transaction. Handlers get `conn` and may register `after_commit` hooks."""

    engine: AsyncEngine
    on_commit: list[AfterCommit] = field(default_factory=list)
    _conn: AsyncConnection | None = None

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work not started")
        return self._conn

    def after_commit(self, hook: AfterCommit) -> None:
        self.on_commit.append(hook)

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self.engine.connect()
        await self._conn.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.conn
        try:
            if exc_type is None:
                await conn.commit()
            else:
                await conn.rollback()
        finally:
            await conn.close()
            self._conn = None
        if exc_type is None:
            for hook in self.on_commit:
                await hook()
