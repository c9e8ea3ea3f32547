"""A second process that floods the API: `python -m tests.e2e.burst_client URL COUNT ADDRESS
[KEY_ID SECRET]`. Sends COUNT `{ markets { symbol } }` requests from the loopback ADDRESS,
signed with the API key if given, and prints a JSON summary: status counts and one 429."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx

from tests.e2e.api_key_helpers import body_of, signed_headers

QUERY = "{ markets { symbol } }"


async def burst(url: str, count: int, address: str, key: tuple[str, str] | None) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    limited: dict[str, Any] = {}
    started = time.monotonic()
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as http:

        async def one(n: int) -> None:
            # A comment makes each body, so each signature, unique: the same signed request
            # twice would be refused as a replay.
            body = body_of(f"{QUERY} # {n}")
            headers = signed_headers(*key, body) if key else {"content-type": "application/json"}
            response = await http.post("/graphql", content=body, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code == 429 and not limited:
                limited.update(
                    retry_after=response.headers.get("retry-after"), body=response.json()
                )

        for start in range(0, count, 20):  # 20 in flight at a time
            await asyncio.gather(*(one(n) for n in range(start, min(start + 20, count))))
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        "limited": limited,
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    url, count, address = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    key = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else None
    print(json.dumps(asyncio.run(burst(url, count, address, key))))


if __name__ == "__main__":
    main()
