"""The fallback load generator when wrk is missing: a few processes, each running asyncio
(uvloop when installed) keep-alive connections that send a random pre-formatted request from
the pool and read the whole answer. Slower than wrk, so it is more likely to be the bottleneck;
the table says when it was used."""

from __future__ import annotations

import asyncio
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit


def run(url: str, pool: Path, *, token: str | None, connections: int, seconds: int,
        seed: int = 1):
    from bench.load import LoadResult
    from bench.report import percentile

    procs = max(1, min(connections, os.cpu_count() or 1, 4))
    shares = [connections // procs + (i < connections % procs) for i in range(procs)]
    parts = urlsplit(url)
    with ProcessPoolExecutor(procs) as ex:
        futures = [ex.submit(_process, parts.hostname, parts.port, str(pool), token, n,
                             seconds, seed + i) for i, n in enumerate(shares) if n]
        results = [f.result() for f in futures]
    latencies = [x for lat, _, _ in results for x in lat]
    errors = sum(e for _, e, _ in results)
    span = max((s for _, _, s in results), default=0.0)
    ms = [x * 1000 for x in latencies]
    return LoadResult(requests=len(latencies), seconds=span, errors=errors,
                      p50_ms=percentile(ms, 50), p90_ms=percentile(ms, 90),
                      p99_ms=percentile(ms, 99), mean_ms=sum(ms) / len(ms) if ms else 0.0,
                      tool=f"python ({len(results)} processes)")


def _process(host: str, port: int, pool: str, token: str | None, connections: int,
             seconds: float, seed: int):
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    head = f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    reqs = [head.encode() + b"Content-Length: %d\r\n\r\n" % len(b) + b
            for b in Path(pool).read_bytes().splitlines() if b]
    return asyncio.run(_load(host, port, reqs, connections, seconds, random.Random(seed)))


async def _load(host, port, reqs, connections, seconds, rng):
    latencies: list[float] = []
    errors = [0]
    start = time.perf_counter()
    deadline = start + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                writer.write(rng.choice(reqs))
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header.split(b" ", 2)[1])
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if not 200 <= status < 400:
                    errors[0] += 1
        except (OSError, asyncio.IncompleteReadError):
            errors[0] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return latencies, errors[0], time.perf_counter() - start
