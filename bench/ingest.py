"""OpenLineage ingestion over HTTP (docs/semantics.md §11), one server worker on SQLite:

- events/s for 50-column COMPLETE RunEvents with column lineage, each a new output dataset
  (50 fields registered, 100 edges: 50 DIRECT/IDENTITY, 50 INDIRECT/FILTER from a
  dataset-level input), posted one after another on one keep-alive connection; target
  >= 200/s;
- the same events replayed (nothing new: nothing committed);
- check throughput on the same worker, alone and while events stream in on another
  connection, and how many events went in meanwhile."""

from __future__ import annotations

import random
import threading
import time

import orjson

from bench import load
from bench.http_checks import check_body
from bench.report import Row
from bench.server import CATALOG_APP, Client, Server, init_database, token

COLUMNS = 50
TARGET = 200  # events/s
PURPOSES = ("service.support", "marketing.direct", "analytics.aggregate")
CHANNELS = ("email", "web", "sms")
NS = "postgres://warehouse:5432"


def event(i: int, columns: int = COLUMNS) -> bytes:
    src = f"bench.staging.src_{i % 10}"
    facets = {
        "schema": {"fields": [{"name": f"c{j}", "type": "text"} for j in range(columns)]},
        "columnLineage": {
            "fields": {f"c{j}": {"inputFields": [{
                "namespace": NS, "name": src, "field": f"c{j}",
                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY",
                                     "masking": False}]}]} for j in range(columns)},
            "dataset": [{"namespace": NS, "name": src, "field": "status",
                         "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]}}
    return orjson.dumps({
        "eventType": "COMPLETE", "eventTime": "2026-11-30T00:00:00Z",
        "producer": "https://example.com/bench", "run": {"runId": f"run-{i}"},
        "job": {"namespace": "bench", "name": f"model_{i}"},
        "inputs": [{"namespace": NS, "name": src}],
        "outputs": [{"namespace": NS, "name": f"bench.marts.out_{i}", "facets": facets}]})


def post_all(port: int, admin: str, bodies: list[bytes], stop: threading.Event | None = None
             ) -> tuple[int, float]:
    client = Client(port, admin)
    sent, t0 = 0, time.perf_counter()
    try:
        for body in bodies:
            if stop is not None and stop.is_set():
                break
            status, data, _ = client.post_raw(body, path="/api/v1/lineage")
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {data[:300]!r}")
            sent += 1
    finally:
        client.close()
    return sent, time.perf_counter() - t0


def run(cfg) -> list[Row]:
    count = 200 if cfg.quick else 1_000
    db = f"sqlite:///{cfg.workdir / 'ingest.db'}"
    init_database(db)
    admin, pipeline = token(db, "admin"), token(db, "pipeline")
    bodies = [event(i) for i in range(3 * count)]
    rows: list[Row] = []
    tool = load.choose_tool(cfg.loadgen)
    with Server(CATALOG_APP, env={"CATALOG_DATABASE_URL": db},
                log_path=cfg.workdir / "ingest-server.log") as server:
        post_all(server.port, admin, bodies[:20])  # warm up (the sources' fields too)
        for figure, batch, target in (
                (f"{COLUMNS}-column COMPLETE events, new fields, 1 worker", bodies[20:count],
                 TARGET),
                ("the same events replayed (nothing committed)", bodies[20:count], None)):
            cpu0 = sum(server.cpu_seconds().values())
            sent, seconds = post_all(server.port, admin, batch)
            cpu = (sum(server.cpu_seconds().values()) - cpu0) / sent
            rate = sent / seconds
            cfg.log(f"ingest: {figure}: {sent} in {seconds:.1f} s")
            rows.append(Row("ingest", figure, rate, "events/s",
                            target=f">= {target}" if target else "",
                            holds=rate >= target if target else None,
                            note=f"{seconds / sent * 1000:.1f} ms per event; server CPU "
                                 f"{cpu * 1000:.1f} ms per event, so about {1 / cpu:,.0f}/s "
                                 "on one core of its own"))

        rng = random.Random(cfg.seed)
        pool = load.write_pool(cfg.workdir / "ingest_checks.jsonl", [
            check_body(f"bench.marts.out_{rng.randrange(count)}.c{rng.randrange(COLUMNS)}",
                       rng.choice(PURPOSES), rng.choice(CHANNELS)) for _ in range(2_000)])
        connections = min(cfg.connections, 8)
        alone = load.run(tool, server.url, pool, token=pipeline, connections=connections,
                         seconds=cfg.duration)
        stop = threading.Event()
        streamed: list[tuple[int, float]] = []
        feeder = threading.Thread(target=lambda: streamed.append(
            post_all(server.port, admin, bodies[count:], stop)))
        feeder.start()
        try:
            during = load.run(tool, server.url, pool, token=pipeline, connections=connections,
                              seconds=cfg.duration)
        finally:
            stop.set()
            feeder.join()
        events, seconds = streamed[0] if streamed else (0, 1.0)
    rows.append(Row("ingest", "checks/s, no events", alone.rps, "req/s",
                    note=f"{tool}, {connections} connections, p99 {alone.p99_ms:.1f} ms"))
    rows.append(Row("ingest", "checks/s while events stream in", during.rps, "req/s",
                    reference=f"no events {alone.rps:,.0f} req/s",
                    ratio=during.rps / alone.rps if alone.rps else None,
                    note=f"p99 {during.p99_ms:.1f} ms; {events / seconds:,.0f} events/s went "
                         "in meanwhile"))
    return rows
