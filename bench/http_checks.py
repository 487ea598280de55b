"""Section `http` (issue 5, items 1-2; issue 8, item 3): `check` and `checkMany` over HTTP on
one uvicorn worker, each against the floor (bench/floor.py) on the same uvicorn settings
answering a response of the same size to the same requests. Two workloads: the pipeline
figures (bench/pipeline.py: a pipeline's selection, light decisions, `catalog serve` as
started by default, 2 connections) and the heavy ones below (the full Decision with every
reason's message and path, random requests, 16 connections).

Requests differ: the check pool holds distinct random (field, purpose, channel) triples over
a catalog of thousands of fields with lineage, the checkMany pool bodies of 1,000 distinct
random requests each, and the load generator picks a body at random per request. A priming
pass asks each body once first (its times are the "first ask" rows), so the measured runs see
the engine's memoized decisions, as a long-running server would.
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench import load, pipeline, synth
from bench.report import Row, median, percentile
from bench.server import CATALOG_APP, FLOOR_APP, Client, Server, seed_database, token

SECTION = "http"
TARGET_CHECK = 0.60  # of the floor's throughput
TARGET_MANY = 6.0  # times the floor's time

DECISION = ("{ allowed field purpose channel reasons { code message rule path } obligations "
            "effectiveCategories revision }")
CHECK_QUERY = ("query Check($field: String!, $purpose: String!, $channel: String!) "
               "{ check(field: $field, purpose: $purpose, channel: $channel) " + DECISION + " }")
CHECK_MANY_QUERY = ("query CheckMany($requests: [CheckInput!]!) "
                    "{ checkMany(requests: $requests) " + DECISION + " }")


@dataclass
class HttpCatalog:
    db_url: str
    token: str
    check_pool: Path
    many_pool: Path
    size: str
    check_triples: list[tuple[str, str, str]]
    names: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


def check_body(f: str, p: str, c: str) -> bytes:
    return orjson.dumps({"query": CHECK_QUERY, "operationName": "Check",
                         "variables": {"field": f, "purpose": p, "channel": c}})


def many_body(reqs: list[tuple[str, str, str]]) -> bytes:
    return orjson.dumps({"query": CHECK_MANY_QUERY, "operationName": "CheckMany",
                         "variables": {"requests": [{"field": f, "purpose": p, "channel": c}
                                                    for f, p, c in reqs]}})


def http_catalog(cfg) -> HttpCatalog:
    """The seeded SQLite catalog, a pipeline token and the request pools; built once a run.
    The measured runs pick from the pools at random after a priming pass, so decisions are
    warm (the engine memoizes them) while every request still differs from most others."""
    if "http" in cfg.shared:
        return cfg.shared["http"]
    n_fields, n_edges = cfg.http_size
    cat = synth.generate(n_fields, n_edges, seed=cfg.seed + 1)
    size = f"{len(cat.fields):,} fields / {len(cat.edges):,} edges"
    cfg.log(f"http: seeding an SQLite catalog of {size} through the services")
    db_url = f"sqlite:///{cfg.workdir / 'http.db'}"
    seed_database(db_url, cat)
    rng = random.Random(cfg.seed)
    singles = synth.random_requests(rng, cat.names, cat.purposes, cat.channels, cfg.check_pool)
    check_pool = load.write_pool(cfg.workdir / "check_pool.jsonl",
                                 [check_body(*r) for r in singles])
    many = synth.random_requests(rng, cat.names, cat.purposes, cat.channels,
                                 cfg.many_pool * 1000)
    many_pool = load.write_pool(cfg.workdir / "many_pool.jsonl",
                                [many_body(many[i:i + 1000]) for i in range(0, len(many), 1000)])
    out = HttpCatalog(db_url, token(db_url, "pipeline"), check_pool, many_pool, size, singles,
                      cat.names, cat.purposes, cat.channels)
    cfg.shared["http"] = out
    return out


def prime(port: int, token: str, pool: Path) -> tuple[list[int], list[float]]:
    """Ask every body of the pool once, in order, on one connection, checking each answer
    has no error: the first ask of each decision (cold), and what makes the measured runs
    warm. Returns the answers' sizes and times (ms)."""
    client = Client(port, token)
    sizes, times = [], []
    try:
        for body in pool.read_bytes().splitlines():
            status, data, seconds = client.post_raw(body)
            if status != 200 or b'"errors"' in data[:20] or orjson.loads(data).get("errors"):
                raise RuntimeError(f"the catalog refused a benchmark request: {data[:400]!r}")
            sizes.append(len(data))
            times.append(seconds * 1000)
    finally:
        client.close()
    return sizes, times


def representative(port: int, token: str, pool: Path, sizes: list[int]) -> bytes:
    """The answer whose size is nearest the mean answer size: what the floor will send."""
    mean = sum(sizes) / len(sizes)
    i = min(range(len(sizes)), key=lambda k: abs(sizes[k] - mean))
    client = Client(port, token)
    try:
        return client.post_raw(pool.read_bytes().splitlines()[i])[1]
    finally:
        client.close()


def measure(cfg, tool: str, server: Server, pool: Path, token: str | None,
            connections: int) -> load.LoadResult:
    """A warm-up run, then the measured one, with the server's CPU time during it."""
    if cfg.warmup:
        load.run(tool, server.url, pool, token=token, connections=connections,
                 seconds=cfg.warmup, seed=cfg.seed + 100)
    before = server.cpu_seconds()
    result = load.run(tool, server.url, pool, token=token, connections=connections,
                      seconds=cfg.duration, seed=cfg.seed)
    after = server.cpu_seconds()
    result.cpu_by_pid = {p: after[p] - before.get(p, 0.0) for p in after}
    result.cpu_s = sum(result.cpu_by_pid.values())
    if result.errors:
        cfg.log(f"  {result.errors} failed requests of {result.requests} on {server.app}")
    return result


def run(cfg) -> list[Row]:
    tool = load.choose_tool(cfg.loadgen)
    hc = http_catalog(cfg)
    logs = cfg.workdir
    env = {"CATALOG_DATABASE_URL": hc.db_url}
    conns = cfg.connections

    cfg.log(f"http: catalog server, {tool} with {conns} connections, {cfg.rounds} x "
            f"{cfg.duration} s per figure")
    with ExitStack() as stack:
        srv = stack.enter_context(Server(CATALOG_APP, env=env,
                                         log_path=logs / "catalog-http.log"))
        cfg.log(f"http: priming: each of {cfg.check_pool:,} check and {cfg.many_pool} "
                "checkMany bodies once, in order")
        check_sizes, cold_check_ms = prime(srv.port, hc.token, hc.check_pool)
        many_sizes, cold_many_ms = prime(srv.port, hc.token, hc.many_pool)
        floors = {}
        for name, pool, sizes in (("check", hc.check_pool, check_sizes),
                                  ("many", hc.many_pool, many_sizes)):
            body = logs / f"floor_{name}.json"
            body.write_bytes(representative(srv.port, hc.token, pool, sizes))
            floors[name] = stack.enter_context(Server(
                FLOOR_APP, env={"BENCH_FLOOR_BODY": str(body)}, log_path=logs / "floor.log"))
        check_answer = (logs / "floor_check.json").read_bytes()
        many_answer = (logs / "floor_many.json").read_bytes()
        # Catalog and floor in turns, best of the rounds: the least disturbed run of each.
        runs: dict[str, list[load.LoadResult]] = {k: [] for k in ("cc", "fc", "cm", "fm")}
        for _ in range(cfg.rounds):
            runs["cc"].append(measure(cfg, tool, srv, hc.check_pool, hc.token, conns))
            runs["fc"].append(measure(cfg, tool, floors["check"], hc.check_pool, hc.token,
                                     conns))
        for _ in range(cfg.rounds):
            runs["cm"].append(measure(cfg, tool, srv, hc.many_pool, hc.token, 1))
            runs["fm"].append(measure(cfg, tool, floors["many"], hc.many_pool, hc.token, 1))
    cat_check, floor_check = (max(runs[k], key=lambda r: r.rps) for k in ("cc", "fc"))
    cat_many, floor_many = (min(runs[k], key=lambda r: r.p50_ms) for k in ("cm", "fm"))
    errors = {k: sum(r.errors for r in v) for k, v in runs.items()}

    ratio = cat_check.rps / floor_check.rps if floor_check.rps else float("nan")
    many_ratio = cat_many.p50_ms / floor_many.p50_ms if floor_many.p50_ms else float("nan")
    rows = [
        Row(SECTION, "heavy check, 1 worker: throughput", cat_check.rps, "req/s",
            f"floor {floor_check.rps:,.0f} req/s", ratio, f">= {TARGET_CHECK}",
            ratio >= TARGET_CHECK,
            note=f"{hc.size}; {conns} connections; answers ~{len(check_answer):,} bytes; "
                 f"best of {cfg.rounds} runs of {cfg.duration} s, catalog and floor in turns; "
                 f"load generator {cat_check.tool}"),
        Row(SECTION, "heavy check, 1 worker: latency p50", cat_check.p50_ms, "ms",
            f"floor {floor_check.p50_ms:.2f} ms"),
        Row(SECTION, "heavy check, 1 worker: latency p99", cat_check.p99_ms, "ms",
            f"floor {floor_check.p99_ms:.2f} ms"),
        Row(SECTION, "heavy checkMany x1000: time p50", cat_many.p50_ms, "ms",
            f"floor {floor_many.p50_ms:.2f} ms", many_ratio, f"<= {TARGET_MANY:g}x",
            many_ratio <= TARGET_MANY,
            note=f"one connection, {cat_many.requests} requests; answers "
                 f"~{len(many_answer) / 1e6:.2f} MB; p99 {cat_many.p99_ms:.1f} ms vs floor "
                 f"{floor_many.p99_ms:.1f} ms"),
        Row(SECTION, "heavy check: server CPU per request", cat_check.cpu_us_per_request, "µs",
            f"floor {floor_check.cpu_us_per_request:,.0f} µs",
            floor_check.cpu_us_per_request / cat_check.cpu_us_per_request,
            note="CPU time (user + system) of the server process during the measured run per "
                 "request answered; ratio floor/catalog: what the throughput ratio would be "
                 "with a core each and nothing else running, steadier on a busy machine"),
        Row(SECTION, "heavy checkMany x1000: decisions/s", cat_many.rps * 1000, "dec/s"),
        Row(SECTION, "heavy checkMany: server CPU per request", cat_many.cpu_us_per_request / 1000,
            "ms", f"floor {floor_many.cpu_us_per_request / 1000:,.2f} ms",
            cat_many.cpu_us_per_request / floor_many.cpu_us_per_request),
        Row(SECTION, "check, first ask (cold): p50", median(cold_check_ms), "ms",
            note=f"the priming pass: each decision asked for the first time, one connection; "
                 f"p99 {percentile(cold_check_ms, 99):.1f} ms"),
        Row(SECTION, "checkMany x1000, first ask (cold): p50", median(cold_many_ms), "ms",
            note=f"p99 {percentile(cold_many_ms, 99):.0f} ms"),
    ]
    names = {"cc": "catalog check", "fc": "floor check", "cm": "catalog checkMany",
             "fm": "floor checkMany"}
    for key, count in errors.items():
        if count:
            rows[0].note += f"; {names[key]}: {count} failed requests"
    rows = pipeline.run(cfg, tool, hc) + rows
    if cfg.profile:
        from bench import hotspots
        rows += hotspots.run(cfg, tool, hc)
    return rows
