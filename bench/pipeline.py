"""The `http` section's pipeline figures (issue 8, item 3): checks asked the way pipelines
ask them, against `catalog serve` started exactly as a user starts it (its default logging:
no access log), each against the floor (bench/floor.py) under the same uvicorn settings
answering the same bytes.

- selection `allowed reasons { code rule } obligations` (what a pipeline branches on);
- requests whose decisions have 0-3 reasons (most checks in a governed catalog are allows
  or one-reason denials), chosen in process from random triples over the catalog;
- every request body different (distinct triples in every body), 2 connections.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import orjson

from bench import load, synth
from bench.report import Row
from bench.server import FLOOR_APP, HOST, Server, open_catalog

SECTION = "http"
CONNECTIONS = 2
MAX_REASONS = 3
MANY_BODIES_PER_1000 = 60  # 1,200 distinct checkMany bodies for the default 20,000 requests
SELECTION = "{ allowed reasons { code rule } obligations }"
CHECK_QUERY = ("query Check($field: String!, $purpose: String!, $channel: String!) "
               "{ check(field: $field, purpose: $purpose, channel: $channel) " + SELECTION
               + " }")
CHECK_MANY_QUERY = ("query CheckMany($requests: [CheckInput!]!) "
                    "{ checkMany(requests: $requests) " + SELECTION + " }")
CATALOG_CLI = Path(sys.executable).parent / "catalog"


class CatalogServe(Server):
    """`catalog serve --database-url URL --port P`: the defaults a user gets."""

    def __init__(self, db_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        super().__init__("catalog serve", env=env or {}, log_path=log_path)
        self.db_url = db_url

    def command(self) -> list[str]:
        return [str(CATALOG_CLI), "serve", "--host", HOST, "--port", str(self.port),
                "--database-url", self.db_url]


class FloorAsServe(Server):
    """The floor under the uvicorn settings `catalog serve` uses (no access log, default
    log level)."""

    def __init__(self, body: Path, log_path: Path) -> None:
        super().__init__(FLOOR_APP, env={"BENCH_FLOOR_BODY": str(body)}, log_path=log_path)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "--factory", FLOOR_APP, "--host", HOST,
                "--port", str(self.port), "--no-access-log"]


def light_requests(cfg, hc, count: int) -> tuple[list[tuple[str, str, str]], Counter]:
    """count distinct random requests whose decisions have at most MAX_REASONS reasons, and
    how many reasons they have (decided in process on the same database)."""
    cat = open_catalog(hc.db_url)
    try:
        index = cat.index
        rng = random.Random(cfg.seed + 3)
        out: list[tuple[str, str, str]] = []
        histogram: Counter = Counter()
        seen: set[tuple[str, str, str]] = set()
        while len(out) < count:
            for req in synth.random_requests(rng, hc.names, hc.purposes, hc.channels,
                                             4 * count):
                if req in seen:
                    continue
                seen.add(req)
                n = len(index.check(*req).reasons)
                if n <= MAX_REASONS:
                    out.append(req)
                    histogram[n] += 1
                    if len(out) == count:
                        break
        return out, histogram
    finally:
        cat.close()


def check_body(f: str, p: str, c: str) -> bytes:
    return orjson.dumps({"query": CHECK_QUERY, "operationName": "Check",
                         "variables": {"field": f, "purpose": p, "channel": c}})


def many_body(reqs: list[tuple[str, str, str]]) -> bytes:
    return orjson.dumps({"query": CHECK_MANY_QUERY, "operationName": "CheckMany",
                         "variables": {"requests": [{"field": f, "purpose": p, "channel": c}
                                                    for f, p, c in reqs]}})


def many_bodies(cfg, many: list[tuple[str, str, str]]) -> list[bytes]:
    """Every batch different: each body a fresh random sample of 1,000 of the requests, in
    no order the catalog has seen them in (as a job's audience would be), so no two
    batches share their memory layout or their counts."""
    rng = random.Random(cfg.seed + 5)
    return [many_body(rng.sample(many, 1000))
            for _ in range(cfg.many_pool * MANY_BODIES_PER_1000)]


def run(cfg, tool: str, hc) -> list[Row]:
    """The pipeline figures; `hc` is the http section's catalog (bench/http_checks.py)."""
    from bench.http_checks import measure, prime, representative  # no import cycle

    work = cfg.workdir
    n_many = cfg.many_pool * 1000
    reqs, histogram = light_requests(cfg, hc, cfg.check_pool + n_many)
    check_pool = load.write_pool(work / "pipeline_check.jsonl",
                                 [check_body(*r) for r in reqs[:cfg.check_pool]])
    many_pool = load.write_pool(work / "pipeline_many.jsonl",
                                many_bodies(cfg, reqs[cfg.check_pool:]))
    total = sum(histogram.values())
    mix = ", ".join(f"{k} reasons {v / total:.0%}" for k, v in sorted(histogram.items()))
    cfg.log(f"http: pipeline figures against `catalog serve` (defaults), {CONNECTIONS} "
            f"connections; decisions: {mix}")
    with ExitStack() as stack:
        srv = stack.enter_context(CatalogServe(hc.db_url, work / "catalog-serve.log"))
        sizes = {name: prime(srv.port, hc.token, pool)[0]
                 for name, pool in (("check", check_pool), ("many", many_pool))}
        floors = {}
        for name, pool in (("check", check_pool), ("many", many_pool)):
            body = work / f"pipeline_floor_{name}.json"
            body.write_bytes(representative(srv.port, hc.token, pool, sizes[name]))
            floors[name] = stack.enter_context(FloorAsServe(body, work / "floor-serve.log"))
        runs: dict[str, list[load.LoadResult]] = {k: [] for k in ("cc", "fc", "cm", "fm")}
        for _ in range(cfg.rounds):
            runs["cc"].append(measure(cfg, tool, srv, check_pool, hc.token, CONNECTIONS))
            runs["fc"].append(measure(cfg, tool, floors["check"], check_pool, hc.token,
                                      CONNECTIONS))
        for _ in range(cfg.rounds):
            runs["cm"].append(measure(cfg, tool, srv, many_pool, hc.token, CONNECTIONS))
            runs["fm"].append(measure(cfg, tool, floors["many"], many_pool, hc.token,
                                      CONNECTIONS))
    cc, fc = (max(runs[k], key=lambda r: r.rps) for k in ("cc", "fc"))
    cm, fm = (min(runs[k], key=lambda r: r.p50_ms) for k in ("cm", "fm"))
    check_ratio = cc.rps / fc.rps if fc.rps else float("nan")
    many_ratio = cm.p50_ms / fm.p50_ms if fm.p50_ms else float("nan")
    errors = sum(r.errors for v in runs.values() for r in v)
    from bench.http_checks import TARGET_CHECK, TARGET_MANY
    return [
        Row(SECTION, "pipeline check (catalog serve): throughput", cc.rps, "req/s",
            f"floor {fc.rps:,.0f} req/s", check_ratio, f">= {TARGET_CHECK}",
            check_ratio >= TARGET_CHECK,
            note=f"selection {SELECTION}; decisions with 0-{MAX_REASONS} reasons ({mix}); "
                 f"{cfg.check_pool:,} distinct bodies; {CONNECTIONS} connections; "
                 f"`catalog serve` defaults (no access log); best of {cfg.rounds} runs of "
                 f"{cfg.duration} s in turns with the floor; load generator {cc.tool}"
                 + (f"; {errors} failed requests" if errors else "")),
        Row(SECTION, "pipeline check: server CPU per request", cc.cpu_us_per_request, "µs",
            f"floor {fc.cpu_us_per_request:,.0f} µs",
            fc.cpu_us_per_request / cc.cpu_us_per_request,
            note="ratio floor/catalog: the throughput ratio with a core each"),
        Row(SECTION, "pipeline checkMany x1000: time p50", cm.p50_ms, "ms",
            f"floor {fm.p50_ms:.2f} ms", many_ratio, f"<= {TARGET_MANY:g}x",
            many_ratio <= TARGET_MANY,
            note=f"{cfg.many_pool * MANY_BODIES_PER_1000:,} distinct bodies, each 1,000 "
                 f"distinct requests sampled from {n_many:,}; "
                 f"{CONNECTIONS} connections; p99 {cm.p99_ms:.1f} ms vs floor "
                 f"{fm.p99_ms:.1f} ms; {cm.p50_ms:.2f} µs per decision"),
        Row(SECTION, "pipeline checkMany: server CPU per request",
            cm.cpu_us_per_request / 1000, "ms", f"floor {fm.cpu_us_per_request / 1000:,.2f} ms",
            cm.cpu_us_per_request / fm.cpu_us_per_request,
            note=f"{cm.cpu_us_per_request / 1000:.2f} µs of server CPU per decision; "
                 "ratio catalog/floor (the target's direction)"),
    ]
