"""The floor of `apply`: the same number of writes, sent by a bare httpx client at a concurrency.

One GET /inbound/list, then N PATCH /inbound/update/{id} requests (cycling over the listed ids),
at most C in flight, with nothing else: no planning, retries, progress or verification. It shows
what the HTTP stack and the sandbox allow on this machine, beside the ideal N x latency / C. Like
the tool, it spares httpcore a failing import of sniffio on every request (see
inbound_sync.api.client), so that the floor is one the tool could reach.

    python benchmarks/apply_floor.py URL API_KEY N C
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys

if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

import httpx


async def send(url: str, api_key: str, count: int, concurrency: int) -> int:
    """Returns how many writes the server accepted."""
    headers = {"Authorization": f"Bearer {api_key}"}
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        rows = (await client.get("/inbound/list")).json()["data"]
        assistants = sorted({row["assistant_id"] for row in rows if row["assistant_id"]})

        async def one(index: int) -> bool:
            row = rows[index % len(rows)]
            body = {"assistant_id": assistants[index % len(assistants)]}
            async with limit:
                answer = await client.patch(f"/inbound/update/{row['inbound_id']}", json=body)
            return answer.status_code == 200

        done = await asyncio.gather(*(one(i) for i in range(count)))
    return sum(done)


def main(argv: list[str]) -> int:
    url, api_key, count, concurrency = argv
    accepted = asyncio.run(send(url, api_key, int(count), int(concurrency)))
    print(f'{{"writes": {accepted}}}')
    return 0 if accepted == int(count) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
