"""The three server components as subprocesses that a test can kill -9 and start again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import httpx

from backend.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api", "worker", "matcher")


class Stack:
    """`exchange api|worker|matcher` on one database; each in its own process group, so a kill
    takes the whole component down at once, as a machine losing it would."""

    def __init__(self, settings: Settings, port: int, logs: Path, **env: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.logs = logs
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "EXCHANGE_PORT": str(port),
            "EXCHANGE_QUEUE_NAMESPACE": settings.queue_namespace,
            "EXCHANGE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "EXCHANGE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "EXCHANGE_SEED_DEMO": "false",
            "EXCHANGE_LOG_LEVEL": "WARNING",
            "EXCHANGE_DB_POOL_SIZE": "4",
            "EXCHANGE_DB_MAX_OVERFLOW": "2",
            **env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._outs: list[IO[str]] = []
        self.starts = dict.fromkeys(COMPONENTS, 0)

    def start(self, name: str) -> None:
        self.starts[name] += 1
        out = (self.logs / f"{name}.log").open("a")
        out.write(f"--- start {self.starts[name]}\n")
        out.flush()
        self._outs.append(out)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", name],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    async def ready(self, timeout: float = 60) -> None:
        """Until the API answers /readyz (the worker and matcher need no answer to be up)."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as http:
            while True:
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} exited: {self.tail(name)}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"the API did not become ready: {self.tail('api')}")
                await asyncio.sleep(0.05)

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-3000:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for out in self._outs:
            out.close()
