"""A dedicated API process with its own settings (small rate limits, introspection off, ...),
on the session's database, for tests that must not disturb or be disturbed by the shared one."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from backend.settings import Settings
from tests.conftest import ROOT, server_env
from tests.servers import free_port


@contextlib.contextmanager
def api_server(settings: Settings, logs: Path, **env: str) -> Iterator[str]:
    port = free_port()
    environment = {**server_env(settings, port), **env}
    log_path = logs / f"api-{port}.log"
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "api"],
            env=environment,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("api did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def client_from(address: str, base: str) -> httpx.AsyncClient:
    """An HTTP client whose connections come from this loopback address (127.0.0.x), so tests
    can act as different IPs without a proxy."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=30)
