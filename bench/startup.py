"""Section `startup` (issue 8, item 2): how long a server takes to serve, and its RSS, on a
database holding a deep catalog (200k fields / 600k edges; 1M / 3M with --large, where the
targets apply; every field derived from ~3 of the 2,000 fields registered before it). The
database is filled directly through the db layer in one transaction (minutes, where loading
1M fields over HTTP takes far longer; the `scale` section measures that path), then a server
process starts on it: process start to /healthz answering, index built from the database."""

from __future__ import annotations

import random
import time

from bench import synth
from bench.report import Row, median, percentile
from bench.scale import LINEAGE
from bench.server import CATALOG_APP, Client, Server, init_database, open_catalog, token
from catalog.db import repo

SECTION = "startup"
TARGET_S = 60.0
TARGET_RSS_MIB = 2.5 * 1024
TARGET_LINEAGE_MS = 20.0
LINEAGE_SAMPLES = 30


def run(cfg) -> list[Row]:
    n_fields, n_edges = cfg.startup_size
    t0 = time.monotonic()
    cat = synth.generate_deep(n_fields, n_edges, seed=cfg.seed + 3)
    size = f"deep: {len(cat.fields):,} fields / {len(cat.edges):,} edges"
    cfg.log(f"startup: generated {size} in {time.monotonic() - t0:.0f} s; filling the database")
    db_url = f"sqlite:///{cfg.workdir / 'startup.db'}"
    init_database(db_url)
    t0 = time.monotonic()
    fill(db_url, cat)
    fill_s = time.monotonic() - t0
    fields = cat.fields
    # Lineage roots deep in the catalog (the last fifth: chains behind them run deepest).
    roots = random.Random(cfg.seed).sample([f.name for f in fields[-len(fields) // 5:]],
                                           min(LINEAGE_SAMPLES, len(fields) // 5))
    del cat  # the server is measured, not this process; free what it can
    reader = token(db_url, "admin")
    cfg.log(f"startup: database filled in {fill_s:.0f} s; starting a server on it")
    srv = Server(CATALOG_APP, env={"CATALOG_DATABASE_URL": db_url},
                 log_path=cfg.workdir / "catalog-startup.log")
    try:
        seconds = srv.start(timeout=900)
        rss = srv.rss_mb()
        lineage_ms, nodes, sizes = lineage_times(srv.port, reader, roots)
    finally:
        srv.stop()
    lin = median(lineage_ms)
    return [
        Row(SECTION, f"start-up from the database ({size})", seconds, "s", "", None,
            f"<= {TARGET_S:g} s", seconds <= TARGET_S if len(fields) >= 1_000_000 else None,
            note=f"process start to /healthz; database filled directly in {fill_s:.0f} s"),
        Row(SECTION, f"server RSS after start-up ({size})", rss, "MiB", "", None,
            f"<= {TARGET_RSS_MIB:g} MiB", rss <= TARGET_RSS_MIB
            if len(fields) >= 1_000_000 else None),
        Row(SECTION, f"lineage depth 10 p50 ({size})", lin, "ms", "", None,
            f"<= {TARGET_LINEAGE_MS:g} ms", lin <= TARGET_LINEAGE_MS,
            note=f"UPSTREAM from {len(roots)} random fields of the last fifth, nodes and "
                 f"edges selected, over HTTP, sequential, on the server just started; "
                 f"{median(nodes):,.0f} nodes p50 ({max(nodes):,} max), answers "
                 f"{median(sizes) / 1e6:.1f} MB p50; p99 {percentile(lineage_ms, 99):.0f} ms"),
    ]


def lineage_times(port: int, reader: str, roots: list[str]):
    """(ms, nodes, answer bytes) of one lineage query per root."""
    client = Client(port, reader)
    out: tuple[list[float], list[int], list[int]] = ([], [], [])
    try:
        for name in roots:
            data, size, seconds = client.graphql(LINEAGE, {"field": name})
            out[0].append(seconds * 1000)
            out[1].append(len(data["lineage"]["nodes"]))
            out[2].append(size)
    finally:
        client.close()
    return out


def fill(db_url: str, cat: synth.SynthCatalog) -> None:
    """Fields, grants and edges in one transaction, through the db layer (no services)."""
    catalog = open_catalog(db_url)
    try:
        with catalog.engine.begin() as conn:
            ids: dict[str, int] = {}
            repo.save_fields(conn=conn, records=cat.fields, ids=ids)
            repo.insert_edges(conn=conn, edges=cat.edges, ids=ids)
            repo.bump_revision(conn=conn)
    finally:
        catalog.close()
