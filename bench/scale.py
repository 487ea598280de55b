"""Section `scale` (issue 5 item 4, issue 8): a synthetic catalog of 100k fields / 300k edges
(1M / 3M with --large) in each shape of `--shapes` (warehouse: bench/synth.py's six levels;
deep: every field derived from ~3 of the 2,000 fields registered before it) loaded over HTTP
with registerFields / addLineages in batches of 5,000; then the server's RSS, `lineage` depth 10
p50, one write (grantPurpose) p50, one addLineage p50, and the start-up time from the database
(process start to /healthz answering, with the index built)."""

from __future__ import annotations

import random

from bench import synth
from bench.report import Row, median, percentile
from bench.server import CATALOG_APP, Client, Server, init_database, token

SECTION = "scale"
BATCH = 5_000
SHAPES = {"warehouse": synth.generate, "deep": synth.generate_deep}
TARGET_LINEAGE_MS = 20.0
TARGET_WRITE_MS = 20.0
TARGET_EDGE_MS = 5.0
TARGET_LOAD_S = 120.0
TARGET_BATCH_S = 5.0
TARGET_STARTUP_S = 60.0
STARTUP_TARGET_FIELDS = 1_000_000

REGISTER = ("mutation Load($inputs: [FieldInput!]!) "
            "{ registerFields(inputs: $inputs) { name } }")
ADD_LINEAGES = ("mutation Link($edges: [LineageEdgeInput!]!) "
                "{ addLineages(edges: $edges) { upstream } }")
LINEAGE = ("query Up($field: String!) { lineage(field: $field, depth: 10) "
           "{ root partial nodes { name } edges { upstream downstream transform } } }")
ADD_LINEAGE = ("mutation Link($u: String!, $d: String!) "
               "{ addLineage(upstream: $u, downstream: $d) { upstream } }")
GRANT = ("mutation Grant($field: String!, $grant: GrantInput!) "
         "{ grantPurpose(field: $field, grant: $grant) { name revision } }")


def run(cfg) -> list[Row]:
    return [row for shape in cfg.scale_shapes for row in run_shape(cfg, shape)]


def run_shape(cfg, shape: str) -> list[Row]:
    n_fields, n_edges = cfg.scale_size
    rng = random.Random(cfg.seed + 2)
    cat = SHAPES[shape](n_fields, n_edges, seed=cfg.seed + 2)
    size = f"{shape}: {len(cat.fields):,} fields / {len(cat.edges):,} edges"
    db_url = f"sqlite:///{cfg.workdir / f'scale-{shape}.db'}"
    init_database(db_url)
    admin = token(db_url, "admin")
    env = {"CATALOG_DATABASE_URL": db_url}
    rows: list[Row] = []

    srv = Server(CATALOG_APP, env=env, log_path=cfg.workdir / "catalog-scale.log")
    empty_s = srv.start()  # start-up on an empty catalog: the fixed part (imports, schema)
    with srv:
        client = Client(srv.port, admin)
        cfg.log(f"scale: loading {size} over HTTP in batches of {BATCH:,}")
        fields_s, worst_f = timed_batches(cfg, client, REGISTER, "inputs", cat.fields,
                                          synth.field_input_json)
        edges_s, worst_e = timed_batches(cfg, client, ADD_LINEAGES, "edges", cat.edges,
                                         synth.edge_input_json)
        loaded_rss = srv.rss_mb()
        total = fields_s + edges_s
        rows.append(Row(SECTION, f"load over HTTP ({size})", total, "s", "", None,
                        f"<= {TARGET_LOAD_S:g} s", total <= TARGET_LOAD_S,
                        note=f"batches of {BATCH:,}; registerFields {fields_s:.1f} s "
                             f"({len(cat.fields) / fields_s:,.0f} fields/s), addLineages "
                             f"{edges_s:.1f} s ({len(cat.edges) / edges_s:,.0f} edges/s)"))
        worst = max(worst_f, worst_e)
        rows.append(Row(SECTION, f"slowest batch ({shape})", worst, "s", "", None,
                        f"<= {TARGET_BATCH_S:g} s", worst <= TARGET_BATCH_S,
                        note=f"registerFields {worst_f:.2f} s, addLineages {worst_e:.2f} s"))

        cfg.log(f"scale: {cfg.lineage_samples} lineage queries, {cfg.scale_writes} writes")
        roots = cat.at_level(4, 5)
        lineage_ms, nodes = [], []
        for name in rng.sample(roots, min(cfg.lineage_samples, len(roots))):
            data, _, seconds = client.graphql(LINEAGE, {"field": name})
            lineage_ms.append(seconds * 1000)
            nodes.append(len(data["lineage"]["nodes"]))
        lin = median(lineage_ms)
        rows.append(Row(SECTION, f"lineage depth 10 p50 ({shape})", lin, "ms", "", None,
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
        rows.append(Row(SECTION, f"one write (grantPurpose) p50 ({shape})", w, "ms", "", None,
                        f"<= {TARGET_WRITE_MS:g} ms", w <= TARGET_WRITE_MS,
                        note=f"over HTTP, sequential, commit + index update included; p99 "
                             f"{percentile(write_ms, 99):.1f} ms"))
        edge_ms = one_edge_writes(cfg, client, cat, rng)
        e = median(edge_ms)
        rows.append(Row(SECTION, f"one addLineage p50 ({shape})", e, "ms", "", None,
                        f"<= {TARGET_EDGE_MS:g} ms", e <= TARGET_EDGE_MS,
                        note=f"over HTTP on the loaded graph, new edges from an earlier "
                             f"field to a later one; p99 {percentile(edge_ms, 99):.1f} ms"))
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
    rows.append(Row(SECTION, f"start-up from the database ({shape})", startup_s, "s", "", None,
                    f"<= {TARGET_STARTUP_S:g} s at 1M",
                    startup_s <= TARGET_STARTUP_S if judged else None,
                    note="" if judged else
                    f"target is for 1M fields: judged only with --large; {empty_s:.1f} s on "
                    f"an empty catalog, so a linear guess at 1M is {per_million:.0f} s"))
    rows.append(Row(SECTION, f"server RSS after load ({shape})", loaded_rss, "MiB"))
    rows.append(Row(SECTION, f"server RSS after start-up ({shape})", started_rss, "MiB",
                    note="a fresh process that built its index from the database"))
    return rows


def one_edge_writes(cfg, client: Client, cat: synth.SynthCatalog,
                    rng: random.Random) -> list[float]:
    """Milliseconds of single addLineage calls: edges the catalog lacks, from an earlier
    field to a later one (the direction lineage grows in either shape)."""
    have = {(e.upstream, e.downstream) for e in cat.edges}
    names, out = cat.names, []
    while len(out) < cfg.scale_writes:
        i, j = sorted(rng.sample(range(len(names)), 2))
        if (names[i], names[j]) in have:
            continue
        have.add((names[i], names[j]))
        _, _, seconds = client.graphql(ADD_LINEAGE, {"u": names[i], "d": names[j]})
        out.append(seconds * 1000)
    return out


def timed_batches(cfg, client: Client, query: str, var: str, items: list,
                  to_json) -> tuple[float, float]:
    """Send items in batches of 5,000 (as JSON made batch by batch): seconds in requests,
    and the slowest batch."""
    spent = worst = 0.0
    for i in range(0, len(items), BATCH):
        batch = [to_json(x) for x in items[i:i + BATCH]]
        _, _, seconds = client.graphql(query, {var: batch})
        spent += seconds
        worst = max(worst, seconds)
        if (i // BATCH) % 10 == 0:
            cfg.log(f"  {var} {i + len(batch):,}/{len(items):,}: batch {seconds:.1f} s")
    return spent, worst
