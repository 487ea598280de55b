"""Section `scale` (issue 5, item 4): a synthetic catalog of 100k fields / 300k edges (1M / 3M
with --large) loaded over HTTP with registerFields / addLineages in batches of 10,000; then the
server's RSS, `lineage` depth 10 p50, one write (grantPurpose) p50, and the start-up time from
the database (process start to /healthz answering, with the index built)."""

from __future__ import annotations

import random

from bench import synth
from bench.report import Row, median, percentile
from bench.server import BATCH, CATALOG_APP, Client, Server, init_database, token

SECTION = "scale"
TARGET_LINEAGE_MS = 20.0
TARGET_WRITE_MS = 20.0
TARGET_STARTUP_S = 60.0
STARTUP_TARGET_FIELDS = 1_000_000

REGISTER = ("mutation Load($inputs: [FieldInput!]!) "
            "{ registerFields(inputs: $inputs) { name } }")
ADD_LINEAGES = ("mutation Link($edges: [LineageEdgeInput!]!) "
                "{ addLineages(edges: $edges) { upstream } }")
LINEAGE = ("query Up($field: String!) { lineage(field: $field, depth: 10) "
           "{ root partial nodes { name } edges { upstream downstream transform } } }")
GRANT = ("mutation Grant($field: String!, $grant: GrantInput!) "
         "{ grantPurpose(field: $field, grant: $grant) { name revision } }")


def run(cfg) -> list[Row]:
    n_fields, n_edges = cfg.scale_size
    rng = random.Random(cfg.seed + 2)
    cat = synth.generate(n_fields, n_edges, seed=cfg.seed + 2)
    size = f"{len(cat.fields):,} fields / {len(cat.edges):,} edges"
    db_url = f"sqlite:///{cfg.workdir / 'scale.db'}"
    init_database(db_url)
    admin = token(db_url, "admin")
    env = {"CATALOG_DATABASE_URL": db_url}
    rows: list[Row] = []

    srv = Server(CATALOG_APP, env=env, log_path=cfg.workdir / "catalog-scale.log")
    empty_s = srv.start()  # start-up on an empty catalog: the fixed part (imports, schema)
    with srv:
        client = Client(srv.port, admin)
        cfg.log(f"scale: loading {size} over HTTP in batches of {BATCH:,}")
        fields_s = timed_batches(cfg, client, REGISTER, "inputs", cat.fields,
                                 synth.field_input_json)
        edges_s = timed_batches(cfg, client, ADD_LINEAGES, "edges", cat.edges,
                                synth.edge_input_json)
        loaded_rss = srv.rss_mb()
        rows.append(Row(SECTION, f"load over HTTP ({size})", fields_s + edges_s, "s",
                        note=f"registerFields {fields_s:.1f} s "
                             f"({len(cat.fields) / fields_s:,.0f} fields/s), addLineages "
                             f"{edges_s:.1f} s ({len(cat.edges) / edges_s:,.0f} edges/s)"))

        cfg.log(f"scale: {cfg.lineage_samples} lineage queries, {cfg.scale_writes} writes")
        roots = cat.at_level(4, 5)
        lineage_ms, nodes = [], []
        for name in rng.sample(roots, min(cfg.lineage_samples, len(roots))):
            data, _, seconds = client.graphql(LINEAGE, {"field": name})
            lineage_ms.append(seconds * 1000)
            nodes.append(len(data["lineage"]["nodes"]))
        lin = median(lineage_ms)
        rows.append(Row(SECTION, "lineage depth 10 p50", lin, "ms", "", None,
                        f"<= {TARGET_LINEAGE_MS:g} ms", lin <= TARGET_LINEAGE_MS,
                        note=f"UPSTREAM from random mart/feature fields: {median(nodes):.0f} "
                             f"nodes p50, {max(nodes)} max; p99 "
                             f"{percentile(lineage_ms, 99):.1f} ms"))

        write_ms = []
        for _ in range(cfg.scale_writes):
            grant = {"purpose": rng.choice(cat.purposes), "requiresConsent": False,
                     "channels": sorted(rng.sample(cat.channels, 3))}
            _, _, seconds = client.graphql(GRANT, {"field": rng.choice(cat.names),
                                                   "grant": grant})
            write_ms.append(seconds * 1000)
        w = median(write_ms)
        rows.append(Row(SECTION, "one write (grantPurpose) p50", w, "ms", "", None,
                        f"<= {TARGET_WRITE_MS:g} ms", w <= TARGET_WRITE_MS,
                        note=f"over HTTP, sequential, commit + index update included; p99 "
                             f"{percentile(write_ms, 99):.1f} ms"))
        client.close()

    cfg.log("scale: restarting the server on the loaded database")
    restart = Server(CATALOG_APP, env=env, log_path=cfg.workdir / "catalog-scale.log")
    try:
        startup_s = restart.start(timeout=900)
        started_rss = restart.rss_mb()
    finally:
        restart.stop()
    judged = len(cat.fields) >= STARTUP_TARGET_FIELDS
    per_million = empty_s + (startup_s - empty_s) * STARTUP_TARGET_FIELDS / len(cat.fields)
    rows.append(Row(SECTION, "start-up from the database", startup_s, "s", "", None,
                    f"<= {TARGET_STARTUP_S:g} s at 1M",
                    startup_s <= TARGET_STARTUP_S if judged else None,
                    note="" if judged else
                    f"target is for 1M fields: judged only with --large; {empty_s:.1f} s on "
                    f"an empty catalog, so a linear guess at 1M is {per_million:.0f} s"))
    rows.append(Row(SECTION, "server RSS after load", loaded_rss, "MiB"))
    rows.append(Row(SECTION, "server RSS after start-up", started_rss, "MiB",
                    note="a fresh process that built its index from the database"))
    return rows


def timed_batches(cfg, client: Client, query: str, var: str, items: list, to_json) -> float:
    """Send items in batches of 10,000 (as JSON made batch by batch); seconds in requests."""
    spent = 0.0
    for i in range(0, len(items), BATCH):
        batch = [to_json(x) for x in items[i:i + BATCH]]
        _, _, seconds = client.graphql(query, {var: batch})
        spent += seconds
        if (i // BATCH) % 10 == 0:
            cfg.log(f"  {var} {i + len(batch):,}/{len(items):,}: batch {seconds:.1f} s")
    return spent
